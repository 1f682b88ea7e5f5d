#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "agentd/tools/workspace.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/sqlite/sqlite.h"

namespace cordon::agentd {

// A delete waiting for its hard phase (DESIGN.md §6.4).
struct PendingDelete {
  std::string id;        // "p-" + 32 hex digits; also the file's name in the trash
  std::string run_id;
  std::string path;      // where it was in the workspace
  std::string due_at;    // RFC 3339: when the hard phase runs
  std::string state;     // pending | reinstated | done
  std::int64_t due_ms = 0;
};

// Two-phase deletes in the workspace. The soft phase moves the file into the workspace's trash
// (a rename: atomic, nothing copied) and is reversible; the hard phase removes it from the trash
// once the window has passed, unless it was reinstated. The queue is in SQLite (pending.db),
// written before the file moves, so a pending hard phase survives a restart (or a crash at any
// point: open() settles a delete whose move never happened). Thread-safe.
class TwoPhaseDeletes {
public:
  static Result<std::unique_ptr<TwoPhaseDeletes>> open(const std::filesystem::path& database, const Workspace& workspace,
                                                       std::chrono::seconds window, const Clock& clock);

  // The soft phase. Errc::not_found for a missing file, Errc::invalid_argument for anything
  // but a regular file.
  Result<PendingDelete> soft_delete(const std::string& path, const std::string& run_id);
  // Puts a pending file back where it was, inside the window. Errc::not_found for an unknown
  // id; Errc::conflict once the window closed or its hard phase ran, after it was reinstated, or
  // when a file now stands at its path (which is never replaced).
  Result<PendingDelete> reinstate(const std::string& id);
  // Runs every hard phase that is due: `record` is called first (the audit event) and only if
  // it succeeds is the file removed and the delete marked done, so no hard phase is silent. A
  // failed record leaves the delete pending for the next round. Returns how many completed.
  Result<std::size_t> complete_due(const std::function<Result<void>(const PendingDelete&)>& record);

  Result<std::vector<PendingDelete>> list() const;
  std::chrono::seconds window() const { return m_window; }

private:
  TwoPhaseDeletes(std::unique_ptr<Sqlite> db, FileDescriptor trash, const Workspace& workspace,
                  std::chrono::seconds window, const Clock& clock)
      : m_db(std::move(db)), m_trash(std::move(trash)), m_workspace(workspace), m_window(window), m_clock(clock) {}
  Result<void> settle_unmoved();
  Result<PendingDelete> find(const std::string& id) const;
  Result<void> set_state(const std::string& id, const std::string& state);

  mutable std::mutex m_mutex;
  std::unique_ptr<Sqlite> m_db;
  FileDescriptor m_trash;
  const Workspace& m_workspace;
  std::chrono::seconds m_window;
  const Clock& m_clock;
};

} // namespace cordon::agentd

#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/sqlite/sqlite.h"

namespace cordon::agentd {

// A run: one agent working on one task (DESIGN.md §6.1). The task text is trusted: an operator
// or an integration registered it, never the agent.
struct Run {
  std::string id;             // "r-" + 32 hex digits
  std::string agent;          // the agent's id, as approvald's rules name it
  std::string task;           // the trusted task text
  std::string registered_by;  // the principal that registered it
  std::string created_at;     // RFC 3339
  std::vector<std::string> flags; // "prompt_injection_suspected", "untrusted_flow", … sorted
  std::int64_t untrusted_spans = 0;
};

// Runs and what each has seen (its untrusted spans), in SQLite (runs.db in agentd's state
// directory), so that taint survives a restart. Thread-safe.
//
// Bound: a run keeps at most `max_span_bytes` of untrusted text. Past that, further spans are
// not kept and the run is flagged "untrusted_overflow", which sends all its sensitive calls to a
// human: content the taint check can no longer see must not make a value look trusted.
class RunStore {
public:
  static constexpr std::size_t max_task_bytes = 64 << 10;
  static constexpr std::size_t max_span_bytes = 8 << 20;

  static Result<std::unique_ptr<RunStore>> open(const std::filesystem::path& path);

  // Registers a run. Errc::invalid_argument for an agent id that is not 1..64 of [a-z0-9._-] or
  // an empty or oversized task.
  Result<Run> register_run(const std::string& agent, const std::string& task, const std::string& registered_by,
                           const std::string& now);
  // Errc::not_found for an unknown run.
  Result<Run> find(const std::string& id) const;

  // Records untrusted text the run's agent was shown (see the class comment for the bound).
  Result<void> add_span(const std::string& run_id, const std::string& tool, const std::string& text);
  // Every kept span of the run, oldest first.
  Result<std::vector<std::string>> spans(const std::string& run_id) const;
  // Adds a flag to the run (idempotent).
  Result<void> flag(const std::string& run_id, const std::string& flag);

private:
  explicit RunStore(std::unique_ptr<Sqlite> db) : m_db(std::move(db)) {}
  Result<std::vector<std::string>> flags_of(const std::string& run_id) const;

  mutable std::mutex m_mutex;
  std::unique_ptr<Sqlite> m_db;
};

} // namespace cordon::agentd

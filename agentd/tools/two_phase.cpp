#include "agentd/tools/two_phase.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/crypto.h"
#include "common/encoding.h"

namespace cordon::agentd {
namespace {

constexpr std::string_view schema = R"(
CREATE TABLE IF NOT EXISTS pending_deletes (
  id TEXT PRIMARY KEY,
  run_id TEXT NOT NULL,
  path TEXT NOT NULL,
  due_ms INTEGER NOT NULL,
  due_at TEXT NOT NULL,
  state TEXT NOT NULL   -- moving | pending | reinstated | done
);
CREATE INDEX IF NOT EXISTS pending_by_due ON pending_deletes(state, due_ms);
)";

std::int64_t unix_ms(std::chrono::system_clock::time_point time) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
}

bool in_trash(int trash, const std::string& id) {
  struct stat info {};
  return ::fstatat(trash, id.c_str(), &info, AT_SYMLINK_NOFOLLOW) == 0;
}

std::string errno_text() { return std::strerror(errno); }

} // namespace

Result<std::unique_ptr<TwoPhaseDeletes>> TwoPhaseDeletes::open(const std::filesystem::path& database, const Workspace& workspace,
                                                               std::chrono::seconds window, const Clock& clock) {
  auto db = CORDON_TRY(Sqlite::open(database));
  CORDON_TRY_VOID(db->execute(schema));
  auto trash = CORDON_TRY(workspace.trash_directory());
  auto deletes = std::unique_ptr<TwoPhaseDeletes>(new TwoPhaseDeletes(std::move(db), std::move(trash), workspace, window, clock));
  CORDON_TRY_VOID(deletes->settle_unmoved());
  return deletes;
}

// A row still `moving` was written and then the process stopped: the file either reached the
// trash (the delete is pending) or never left (nothing happened).
Result<void> TwoPhaseDeletes::settle_unmoved() {
  auto select = CORDON_TRY(m_db->prepare("SELECT id FROM pending_deletes WHERE state = 'moving'"));
  std::vector<std::string> ids;
  while (CORDON_TRY(select.step())) ids.push_back(select.text(0));
  for (const auto& id : ids) {
    if (in_trash(m_trash.get(), id)) {
      CORDON_TRY_VOID(set_state(id, "pending"));
    } else {
      auto remove = CORDON_TRY(m_db->prepare("DELETE FROM pending_deletes WHERE id = ?"));
      CORDON_TRY_VOID(remove.bind(1, id).run());
    }
  }
  return ok();
}

Result<PendingDelete> TwoPhaseDeletes::soft_delete(const std::string& path, const std::string& run_id) {
  std::string leaf;
  auto directory = CORDON_TRY(m_workspace.open_parent(path, false, leaf));
  struct stat info {};
  if (::fstatat(directory.get(), leaf.c_str(), &info, AT_SYMLINK_NOFOLLOW) != 0) {
    return fail(Errc::not_found, "no such file in the workspace: " + path);
  }
  if (!S_ISREG(info.st_mode)) return fail(Errc::invalid_argument, path + " is not a regular file");

  const auto random = CORDON_TRY(crypto::random_bytes(16));
  const auto due = m_clock.now() + m_window;
  PendingDelete pending{"p-" + to_hex(random), run_id, path, format_rfc3339_micros(due), "pending", unix_ms(due)};
  std::lock_guard lock(m_mutex);
  auto insert = CORDON_TRY(m_db->prepare(
      "INSERT INTO pending_deletes (id, run_id, path, due_ms, due_at, state) VALUES (?, ?, ?, ?, ?, 'moving')"));
  CORDON_TRY_VOID(insert.bind(1, pending.id).bind(2, run_id).bind(3, path).bind(4, unix_ms(due)).bind(5, pending.due_at).run());
  if (::renameat(directory.get(), leaf.c_str(), m_trash.get(), pending.id.c_str()) != 0) {
    const std::string reason = errno_text();
    auto remove = CORDON_TRY(m_db->prepare("DELETE FROM pending_deletes WHERE id = ?"));
    (void)remove.bind(1, pending.id).run();
    return fail(Errc::io_error, "cannot move " + path + " to the trash: " + reason);
  }
  ::fsync(directory.get());
  ::fsync(m_trash.get());
  CORDON_TRY_VOID(set_state(pending.id, "pending"));
  return pending;
}

Result<PendingDelete> TwoPhaseDeletes::reinstate(const std::string& id) {
  std::lock_guard lock(m_mutex);
  auto pending = CORDON_TRY(find(id));
  if (pending.state != "pending") return fail(Errc::conflict, "delete " + id + " is " + pending.state + ", not pending");
  if (unix_ms(m_clock.now()) >= pending.due_ms) {
    return fail(Errc::conflict, "the window to reinstate " + pending.path + " closed at " + pending.due_at);
  }
  std::string leaf;
  auto directory = CORDON_TRY(m_workspace.open_parent(pending.path, true, leaf));
  // renameat2(RENAME_NOREPLACE): a file written at the path since stays; the delete stays pending.
  if (::renameat2(m_trash.get(), id.c_str(), directory.get(), leaf.c_str(), RENAME_NOREPLACE) != 0) {
    if (errno == EEXIST) return fail(Errc::conflict, "a file now stands at " + pending.path + "; move it away first");
    return fail(Errc::io_error, "cannot reinstate " + pending.path + ": " + errno_text());
  }
  ::fsync(directory.get());
  ::fsync(m_trash.get());
  CORDON_TRY_VOID(set_state(id, "reinstated"));
  pending.state = "reinstated";
  return pending;
}

Result<std::size_t> TwoPhaseDeletes::complete_due(const std::function<Result<void>(const PendingDelete&)>& record) {
  std::lock_guard lock(m_mutex);
  auto select = CORDON_TRY(m_db->prepare(
      "SELECT id, run_id, path, due_at, state, due_ms FROM pending_deletes WHERE state = 'pending' AND due_ms <= ? ORDER BY due_ms"));
  select.bind(1, unix_ms(m_clock.now()));
  std::vector<PendingDelete> due;
  while (CORDON_TRY(select.step())) {
    due.push_back({select.text(0), select.text(1), select.text(2), select.text(3), select.text(4), select.integer(5)});
  }
  std::size_t completed = 0;
  for (auto& pending : due) {
    if (!record(pending)) continue; // stays pending: the next round tries again
    if (::unlinkat(m_trash.get(), pending.id.c_str(), 0) != 0 && errno != ENOENT) continue;
    ::fsync(m_trash.get());
    CORDON_TRY_VOID(set_state(pending.id, "done"));
    ++completed;
  }
  return completed;
}

Result<std::vector<PendingDelete>> TwoPhaseDeletes::list() const {
  std::lock_guard lock(m_mutex);
  auto select = CORDON_TRY(m_db->prepare(
      "SELECT id, run_id, path, due_at, state, due_ms FROM pending_deletes WHERE state != 'moving' ORDER BY due_ms"));
  std::vector<PendingDelete> out;
  while (CORDON_TRY(select.step())) out.push_back({select.text(0), select.text(1), select.text(2), select.text(3), select.text(4), select.integer(5)});
  return out;
}

Result<PendingDelete> TwoPhaseDeletes::find(const std::string& id) const {
  auto select = CORDON_TRY(m_db->prepare("SELECT id, run_id, path, due_at, state, due_ms FROM pending_deletes WHERE id = ?"));
  select.bind(1, id);
  if (!CORDON_TRY(select.step())) return fail(Errc::not_found, "no pending delete " + id.substr(0, 64));
  return PendingDelete{select.text(0), select.text(1), select.text(2), select.text(3), select.text(4), select.integer(5)};
}

Result<void> TwoPhaseDeletes::set_state(const std::string& id, const std::string& state) {
  auto update = CORDON_TRY(m_db->prepare("UPDATE pending_deletes SET state = ? WHERE id = ?"));
  return update.bind(1, state).bind(2, id).run();
}

} // namespace cordon::agentd

#include "agentd/run_store.h"

#include "common/crypto.h"
#include "common/encoding.h"

namespace cordon::agentd {
namespace {

constexpr std::string_view schema = R"(
CREATE TABLE IF NOT EXISTS runs (
  id TEXT PRIMARY KEY,
  agent TEXT NOT NULL,
  task TEXT NOT NULL,
  registered_by TEXT NOT NULL,
  created_at TEXT NOT NULL,
  span_bytes INTEGER NOT NULL DEFAULT 0,
  span_count INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS spans (
  run_id TEXT NOT NULL REFERENCES runs(id),
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  tool TEXT NOT NULL,
  text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS spans_by_run ON spans(run_id, seq);
CREATE TABLE IF NOT EXISTS run_flags (
  run_id TEXT NOT NULL REFERENCES runs(id),
  flag TEXT NOT NULL,
  PRIMARY KEY (run_id, flag)
);
)";

bool valid_agent(const std::string& agent) {
  return !agent.empty() && agent.size() <= 64 &&
         agent.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789._-") == std::string::npos;
}

} // namespace

Result<std::unique_ptr<RunStore>> RunStore::open(const std::filesystem::path& path) {
  auto db = CORDON_TRY(Sqlite::open(path, SqliteOptions{.background_checkpoints = true}));
  CORDON_TRY_VOID(db->execute(schema));
  return std::unique_ptr<RunStore>(new RunStore(std::move(db)));
}

Result<Run> RunStore::register_run(const std::string& agent, const std::string& task,
                                   const std::string& registered_by, const std::string& now) {
  if (!valid_agent(agent)) return fail(Errc::invalid_argument, "agent must be 1..64 of [a-z0-9._-]");
  if (task.empty() || task.size() > max_task_bytes) {
    return fail(Errc::invalid_argument, "task must be 1.." + std::to_string(max_task_bytes) + " bytes of text");
  }
  const auto random = CORDON_TRY(crypto::random_bytes(16));
  Run run{"r-" + to_hex(random), agent, task, registered_by, now, {}, 0};
  std::lock_guard lock(m_mutex);
  auto insert = CORDON_TRY(m_db->prepare(
      "INSERT INTO runs (id, agent, task, registered_by, created_at) VALUES (?, ?, ?, ?, ?)"));
  CORDON_TRY_VOID(insert.bind(1, run.id).bind(2, run.agent).bind(3, run.task).bind(4, run.registered_by).bind(5, run.created_at).run());
  return run;
}

Result<Run> RunStore::find(const std::string& id) const {
  std::lock_guard lock(m_mutex);
  auto select = CORDON_TRY(m_db->prepare(
      "SELECT id, agent, task, registered_by, created_at, span_count FROM runs WHERE id = ?"));
  select.bind(1, id);
  if (!CORDON_TRY(select.step())) return fail(Errc::not_found, "no run " + id.substr(0, 64));
  Run run{select.text(0), select.text(1), select.text(2), select.text(3), select.text(4), {}, select.integer(5)};
  run.flags = CORDON_TRY(flags_of(id));
  return run;
}

Result<std::vector<std::string>> RunStore::flags_of(const std::string& run_id) const {
  auto select = CORDON_TRY(m_db->prepare("SELECT flag FROM run_flags WHERE run_id = ? ORDER BY flag"));
  select.bind(1, run_id);
  std::vector<std::string> flags;
  while (CORDON_TRY(select.step())) flags.push_back(select.text(0));
  return flags;
}

Result<void> RunStore::add_span(const std::string& run_id, const std::string& tool, const std::string& text) {
  std::lock_guard lock(m_mutex);
  auto transaction = CORDON_TRY(Transaction::begin(*m_db));
  auto select = CORDON_TRY(m_db->prepare("SELECT span_bytes FROM runs WHERE id = ?"));
  select.bind(1, run_id);
  if (!CORDON_TRY(select.step())) return fail(Errc::not_found, "no run " + run_id.substr(0, 64));
  const auto kept = static_cast<std::size_t>(select.integer(0));
  if (kept + text.size() > max_span_bytes) {
    auto flag = CORDON_TRY(m_db->prepare("INSERT OR IGNORE INTO run_flags (run_id, flag) VALUES (?, 'untrusted_overflow')"));
    CORDON_TRY_VOID(flag.bind(1, run_id).run());
  } else {
    auto insert = CORDON_TRY(m_db->prepare("INSERT INTO spans (run_id, tool, text) VALUES (?, ?, ?)"));
    CORDON_TRY_VOID(insert.bind(1, run_id).bind(2, tool).bind(3, text).run());
  }
  auto update = CORDON_TRY(m_db->prepare(
      "UPDATE runs SET span_count = span_count + 1, span_bytes = span_bytes + ? WHERE id = ?"));
  const auto added = kept + text.size() > max_span_bytes ? std::int64_t{0} : static_cast<std::int64_t>(text.size());
  CORDON_TRY_VOID(update.bind(1, added).bind(2, run_id).run());
  return transaction.commit();
}

Result<std::vector<std::string>> RunStore::spans(const std::string& run_id) const {
  std::lock_guard lock(m_mutex);
  auto select = CORDON_TRY(m_db->prepare("SELECT text FROM spans WHERE run_id = ? ORDER BY seq"));
  select.bind(1, run_id);
  std::vector<std::string> out;
  while (CORDON_TRY(select.step())) out.push_back(select.text(0));
  return out;
}

Result<void> RunStore::flag(const std::string& run_id, const std::string& flag) {
  std::lock_guard lock(m_mutex);
  auto insert = CORDON_TRY(m_db->prepare("INSERT OR IGNORE INTO run_flags (run_id, flag) VALUES (?, ?)"));
  return insert.bind(1, run_id).bind(2, flag).run();
}

} // namespace cordon::agentd

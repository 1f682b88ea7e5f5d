#include "approvald/decision_store.h"

#include "common/clock.h"

namespace cordon::approvald {
namespace {

constexpr std::string_view schema = R"(
CREATE TABLE IF NOT EXISTS tenant (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  provisioned_at TEXT NOT NULL,
  switched_live_at TEXT
);
CREATE TABLE IF NOT EXISTS decisions (
  id TEXT PRIMARY KEY,
  run_id TEXT NOT NULL,
  agent TEXT NOT NULL,
  tool TEXT NOT NULL,
  action_digest TEXT NOT NULL,
  verdict TEXT NOT NULL CHECK (verdict IN ('allow', 'deny', 'pending')),
  state TEXT NOT NULL,
  mode TEXT NOT NULL,
  rules TEXT NOT NULL,
  reasons TEXT NOT NULL,
  policy_version TEXT NOT NULL,
  proposal TEXT NOT NULL,
  approvals_required TEXT NOT NULL,
  approval_id TEXT,
  issued_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS decisions_by_digest ON decisions (action_digest);
)";

Result<std::chrono::system_clock::time_point> time_column(const Sqlite::Statement& row, int column) {
  auto parsed = parse_rfc3339(row.text(column));
  if (!parsed) return fail(Errc::integrity, "approvald.db holds a malformed time: " + parsed.error().message);
  return *parsed;
}

Result<Json> json_column(const Sqlite::Statement& row, int column) {
  auto parsed = parse_json(row.text(column));
  if (!parsed) return fail(Errc::integrity, "approvald.db holds malformed JSON: " + parsed.error().message);
  return std::move(*parsed);
}

} // namespace

Result<std::unique_ptr<DecisionStore>> DecisionStore::open(const std::filesystem::path& path,
                                                           std::chrono::system_clock::time_point now) {
  auto db = CORDON_TRY(Sqlite::open(path, SqliteOptions{.background_checkpoints = true}));
  CORDON_TRY_VOID(db->execute(schema));
  auto insert = CORDON_TRY(db->prepare("INSERT OR IGNORE INTO tenant (id, provisioned_at) VALUES (1, ?)"));
  CORDON_TRY_VOID(insert.bind(1, format_rfc3339_micros(now)).run());
  auto select = CORDON_TRY(db->prepare("SELECT provisioned_at, switched_live_at FROM tenant WHERE id = 1"));
  if (!CORDON_TRY(select.step())) return fail(Errc::integrity, "approvald.db lost its tenant row");
  auto store = std::unique_ptr<DecisionStore>(new DecisionStore(std::move(db)));
  store->m_provisioned_at = CORDON_TRY(time_column(select, 0));
  if (!select.is_null(1)) store->m_switched_live_at = CORDON_TRY(time_column(select, 1));
  return store;
}

std::optional<std::chrono::system_clock::time_point> DecisionStore::switched_live_at() const {
  std::lock_guard lock(m_mutex);
  return m_switched_live_at;
}

Result<void> DecisionStore::switch_live(std::chrono::system_clock::time_point at) {
  std::lock_guard lock(m_mutex);
  if (m_switched_live_at) return ok();
  auto statement = CORDON_TRY(m_db->prepare("UPDATE tenant SET switched_live_at = ? WHERE id = 1 AND switched_live_at IS NULL"));
  CORDON_TRY_VOID(statement.bind(1, format_rfc3339_micros(at)).run());
  m_switched_live_at = at;
  return ok();
}

Result<void> DecisionStore::insert(const StoredDecision& d) {
  std::lock_guard lock(m_mutex);
  auto statement = CORDON_TRY(m_db->prepare(
      "INSERT INTO decisions (id, run_id, agent, tool, action_digest, verdict, state, mode, rules, reasons, "
      "policy_version, proposal, approvals_required, approval_id, issued_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"));
  statement.bind(1, d.id).bind(2, d.run_id).bind(3, d.agent).bind(4, d.tool).bind(5, d.action_digest);
  statement.bind(6, d.verdict).bind(7, d.state).bind(8, d.mode).bind(9, d.rules.dump()).bind(10, d.reasons.dump());
  statement.bind(11, d.policy_version).bind(12, d.proposal.dump()).bind(13, d.approvals_required.dump());
  if (d.approval_id.empty()) statement.bind_null(14);
  else statement.bind(14, d.approval_id);
  statement.bind(15, d.issued_at);
  return statement.run();
}

Result<void> DecisionStore::remove(const std::string& id) {
  std::lock_guard lock(m_mutex);
  auto statement = CORDON_TRY(m_db->prepare("DELETE FROM decisions WHERE id = ?"));
  statement.bind(1, id);
  return statement.run();
}

Result<StoredDecision> DecisionStore::find(const std::string& id) const {
  std::lock_guard lock(m_mutex);
  auto row = CORDON_TRY(m_db->prepare(
      "SELECT id, run_id, agent, tool, action_digest, verdict, state, mode, rules, reasons, policy_version, proposal, "
      "approvals_required, approval_id, issued_at FROM decisions WHERE id = ?"));
  row.bind(1, id);
  if (!CORDON_TRY(row.step())) return fail(Errc::not_found, "no decision " + id);
  StoredDecision d;
  d.id = row.text(0);
  d.run_id = row.text(1);
  d.agent = row.text(2);
  d.tool = row.text(3);
  d.action_digest = row.text(4);
  d.verdict = row.text(5);
  d.state = row.text(6);
  d.mode = row.text(7);
  d.rules = CORDON_TRY(json_column(row, 8));
  d.reasons = CORDON_TRY(json_column(row, 9));
  d.policy_version = row.text(10);
  d.proposal = CORDON_TRY(json_column(row, 11));
  d.approvals_required = CORDON_TRY(json_column(row, 12));
  if (!row.is_null(13)) d.approval_id = row.text(13);
  d.issued_at = row.text(14);
  return d;
}

Result<std::int64_t> DecisionStore::count() const {
  std::lock_guard lock(m_mutex);
  auto row = CORDON_TRY(m_db->prepare("SELECT count(*) FROM decisions"));
  if (!CORDON_TRY(row.step())) return std::int64_t{0};
  return row.integer(0);
}

} // namespace cordon::approvald

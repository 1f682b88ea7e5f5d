#include "approvald/approval_store.h"

#include "common/clock.h"

namespace cordon::approvald {
namespace {

constexpr std::string_view schema = R"(
CREATE TABLE IF NOT EXISTS approvals (
  id TEXT PRIMARY KEY,
  decision_id TEXT NOT NULL,
  action_digest TEXT NOT NULL,
  base_digest TEXT NOT NULL,
  bindings TEXT NOT NULL,
  requirements TEXT NOT NULL,
  agent TEXT NOT NULL,
  tool TEXT NOT NULL,
  run_id TEXT NOT NULL,
  proposal TEXT NOT NULL,
  rules TEXT NOT NULL,
  reasons TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'used', 'rejected', 'aged_out', 'stale')),
  created_at TEXT NOT NULL,
  nudges INTEGER NOT NULL DEFAULT 0,
  closed_reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS approvals_by_digest ON approvals (action_digest, state);
CREATE INDEX IF NOT EXISTS approvals_by_base ON approvals (base_digest, state);
CREATE TABLE IF NOT EXISTS grants (
  approval_id TEXT NOT NULL REFERENCES approvals (id),
  approver TEXT NOT NULL,
  choice TEXT NOT NULL CHECK (choice IN ('approve', 'reject')),
  factor TEXT NOT NULL,
  at TEXT NOT NULL,
  PRIMARY KEY (approval_id, approver)
);
CREATE TABLE IF NOT EXISTS links (
  token_sha256 TEXT PRIMARY KEY,
  approval_id TEXT NOT NULL REFERENCES approvals (id),
  approver TEXT NOT NULL,
  expires_at TEXT NOT NULL,
  used INTEGER NOT NULL DEFAULT 0,
  failed_attempts INTEGER NOT NULL DEFAULT 0
);
)";

constexpr std::string_view columns =
    "id, decision_id, action_digest, base_digest, bindings, requirements, agent, tool, run_id, proposal, rules, reasons, "
    "state, created_at, nudges, closed_reason";

Result<Json> json_column(const Sqlite::Statement& row, int column) {
  auto parsed = parse_json(row.text(column));
  if (!parsed) return fail(Errc::integrity, "approvals.db holds malformed JSON: " + parsed.error().message);
  return std::move(*parsed);
}

Result<std::chrono::system_clock::time_point> time_column(const Sqlite::Statement& row, int column) {
  auto parsed = parse_rfc3339(row.text(column));
  if (!parsed) return fail(Errc::integrity, "approvals.db holds a malformed time");
  return *parsed;
}

} // namespace

Result<std::unique_ptr<ApprovalStore>> ApprovalStore::open(const std::filesystem::path& path) {
  auto db = CORDON_TRY(Sqlite::open(path));
  CORDON_TRY_VOID(db->execute(schema));
  return std::unique_ptr<ApprovalStore>(new ApprovalStore(std::move(db)));
}

Result<void> ApprovalStore::create(const ApprovalRecord& a) {
  std::lock_guard lock(m_mutex);
  auto statement = CORDON_TRY(m_db->prepare("INSERT INTO approvals (" + std::string(columns) +
                                            ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"));
  statement.bind(1, a.id).bind(2, a.decision_id).bind(3, a.action_digest).bind(4, a.base_digest).bind(5, a.bindings.dump());
  statement.bind(6, a.requirements.dump()).bind(7, a.agent).bind(8, a.tool).bind(9, a.run_id).bind(10, a.proposal.dump());
  statement.bind(11, a.rules.dump()).bind(12, a.reasons.dump()).bind(13, a.state).bind(14, format_rfc3339_micros(a.created_at));
  statement.bind(15, a.nudges).bind(16, a.closed_reason);
  return statement.run();
}

Result<ApprovalRecord> ApprovalStore::read_row(Sqlite::Statement& row) const {
  ApprovalRecord a;
  a.id = row.text(0);
  a.decision_id = row.text(1);
  a.action_digest = row.text(2);
  a.base_digest = row.text(3);
  a.bindings = CORDON_TRY(json_column(row, 4));
  a.requirements = CORDON_TRY(json_column(row, 5));
  a.agent = row.text(6);
  a.tool = row.text(7);
  a.run_id = row.text(8);
  a.proposal = CORDON_TRY(json_column(row, 9));
  a.rules = CORDON_TRY(json_column(row, 10));
  a.reasons = CORDON_TRY(json_column(row, 11));
  a.state = row.text(12);
  a.created_at = CORDON_TRY(time_column(row, 13));
  a.nudges = row.integer(14);
  a.closed_reason = row.text(15);
  auto grants = CORDON_TRY(m_db->prepare("SELECT approver, choice, factor, at FROM grants WHERE approval_id = ? ORDER BY at"));
  grants.bind(1, a.id);
  while (CORDON_TRY(grants.step())) a.grants.push_back({grants.text(0), grants.text(1), grants.text(2), grants.text(3)});
  return a;
}

Result<std::vector<ApprovalRecord>> ApprovalStore::query(const std::string& where, const std::vector<std::string>& values) const {
  std::lock_guard lock(m_mutex);
  auto row = CORDON_TRY(m_db->prepare("SELECT " + std::string(columns) + " FROM approvals WHERE " + where + " ORDER BY created_at"));
  for (std::size_t i = 0; i < values.size(); ++i) row.bind(static_cast<int>(i + 1), values[i]);
  std::vector<ApprovalRecord> out;
  while (CORDON_TRY(row.step())) out.push_back(CORDON_TRY(read_row(row)));
  return out;
}

Result<ApprovalRecord> ApprovalStore::find(const std::string& id) const {
  auto found = CORDON_TRY(query("id = ?", {id}));
  if (found.empty()) return fail(Errc::not_found, "no approval " + id);
  return std::move(found.front());
}

Result<std::optional<ApprovalRecord>> ApprovalStore::find_open(const std::string& action_digest) const {
  auto found = CORDON_TRY(query("action_digest = ? AND state IN ('pending', 'approved')", {action_digest}));
  if (found.empty()) return std::optional<ApprovalRecord>();
  return std::optional<ApprovalRecord>(std::move(found.back()));
}

Result<std::vector<ApprovalRecord>> ApprovalStore::open_elsewhere(const std::string& base_digest,
                                                                  const std::string& action_digest) const {
  return query("base_digest = ? AND action_digest != ? AND state IN ('pending', 'approved')", {base_digest, action_digest});
}

Result<std::vector<ApprovalRecord>> ApprovalStore::pending() const { return query("state = 'pending'", {}); }

Result<std::int64_t> ApprovalStore::count_pending() const {
  std::lock_guard lock(m_mutex);
  auto row = CORDON_TRY(m_db->prepare("SELECT count(*) FROM approvals WHERE state = 'pending'"));
  if (!CORDON_TRY(row.step())) return std::int64_t{0};
  return row.integer(0);
}

Result<void> ApprovalStore::transition(const std::string& id, const std::string& from, const std::string& to,
                                       const std::string& reason) {
  std::lock_guard lock(m_mutex);
  auto statement = CORDON_TRY(m_db->prepare("UPDATE approvals SET state = ?, closed_reason = ? WHERE id = ? AND state = ?"));
  statement.bind(1, to).bind(2, reason).bind(3, id).bind(4, from);
  CORDON_TRY_VOID(statement.run());
  if (m_db->changes() != 1) return fail(Errc::conflict, "approval " + id + " is no longer " + from);
  return ok();
}

Result<void> ApprovalStore::set_nudges(const std::string& id, std::int64_t nudges) {
  std::lock_guard lock(m_mutex);
  auto statement = CORDON_TRY(m_db->prepare("UPDATE approvals SET nudges = ? WHERE id = ?"));
  statement.bind(1, nudges).bind(2, id);
  return statement.run();
}

Result<void> ApprovalStore::add_grant(const std::string& id, const Grant& grant) {
  std::lock_guard lock(m_mutex);
  auto statement = CORDON_TRY(m_db->prepare("INSERT INTO grants (approval_id, approver, choice, factor, at) VALUES (?,?,?,?,?)"));
  statement.bind(1, id).bind(2, grant.approver).bind(3, grant.choice).bind(4, grant.factor).bind(5, grant.at);
  auto inserted = statement.run();
  if (!inserted && inserted.error().code == Errc::conflict)
    return fail(Errc::conflict, grant.approver + " has answered approval " + id + " already; nobody approves twice");
  return inserted;
}

Result<void> ApprovalStore::add_link(const LinkRecord& link) {
  std::lock_guard lock(m_mutex);
  auto statement = CORDON_TRY(m_db->prepare("INSERT INTO links (token_sha256, approval_id, approver, expires_at) VALUES (?,?,?,?)"));
  statement.bind(1, link.token_sha256).bind(2, link.approval_id).bind(3, link.approver).bind(4, format_rfc3339_micros(link.expires_at));
  return statement.run();
}

Result<std::optional<LinkRecord>> ApprovalStore::find_link(const std::string& token_sha256) const {
  std::lock_guard lock(m_mutex);
  auto row = CORDON_TRY(m_db->prepare("SELECT token_sha256, approval_id, approver, expires_at, used, failed_attempts FROM links WHERE token_sha256 = ?"));
  row.bind(1, token_sha256);
  if (!CORDON_TRY(row.step())) return std::optional<LinkRecord>();
  LinkRecord link{row.text(0), row.text(1), row.text(2), CORDON_TRY(time_column(row, 3)), row.integer(4) != 0, row.integer(5)};
  return std::optional<LinkRecord>(std::move(link));
}

Result<void> ApprovalStore::use_link(const std::string& token_sha256) {
  std::lock_guard lock(m_mutex);
  auto statement = CORDON_TRY(m_db->prepare("UPDATE links SET used = 1 WHERE token_sha256 = ? AND used = 0"));
  statement.bind(1, token_sha256);
  CORDON_TRY_VOID(statement.run());
  if (m_db->changes() != 1) return fail(Errc::conflict, "the link was used already");
  return ok();
}

Result<std::int64_t> ApprovalStore::fail_link_attempt(const std::string& token_sha256) {
  std::lock_guard lock(m_mutex);
  auto update = CORDON_TRY(m_db->prepare("UPDATE links SET failed_attempts = failed_attempts + 1 WHERE token_sha256 = ?"));
  update.bind(1, token_sha256);
  CORDON_TRY_VOID(update.run());
  auto row = CORDON_TRY(m_db->prepare("SELECT failed_attempts FROM links WHERE token_sha256 = ?"));
  row.bind(1, token_sha256);
  if (!CORDON_TRY(row.step())) return fail(Errc::not_found, "no such link");
  return row.integer(0);
}

} // namespace cordon::approvald

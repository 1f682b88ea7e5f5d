#include "approvald/gate.h"

#include <future>

#include "common/clock.h"
#include "common/crypto.h"
#include "common/decision/decision_packet.h"
#include "common/encoding.h"
#include "common/log.h"

namespace cordon::approvald {
namespace {

// Two per decision approvald makes at once (its four io threads: the signing and the row), so
// that no decision waits for another's.
constexpr unsigned side_threads = 8;

Result<std::string> random_id(std::string_view prefix) {
  const auto bytes = CORDON_TRY(crypto::random_bytes(16));
  return std::string(prefix) + to_hex(bytes);
}

std::string state_of(Effect verdict) {
  switch (verdict) {
  case Effect::allow: return "allowed";
  case Effect::deny: return "denied";
  case Effect::require_approval: return "pending";
  }
  return "denied";
}

Json requirements_json(const std::vector<ApprovalRequirement>& approvals) {
  Json out = Json::array();
  for (const auto& requirement : approvals)
    out.push_back({{"count", requirement.count}, {"group", requirement.group}, {"bind", requirement.bind}});
  return out;
}

} // namespace

Gate::Gate(Parts parts)
    : m_config(std::move(parts.config)), m_signer(*parts.signer), m_audit(*parts.audit), m_store(*parts.store),
      m_desk(*parts.desk), m_clock(*parts.clock), m_constitution(std::make_shared<const Constitution>(std::move(parts.constitution))),
      m_side(side_threads) {}

std::shared_ptr<const Constitution> Gate::constitution() const {
  std::lock_guard lock(m_constitution_mutex);
  return m_constitution;
}

TenantMode Gate::mode() const {
  if (m_store.switched_live_at()) return TenantMode::live;
  return m_clock.now() < m_store.provisioned_at() + m_config.dry_run_period ? TenantMode::dry_run : TenantMode::live;
}

Result<Json> Gate::request_mode(const ipc::Peer& caller, const Json& body) {
  CORDON_TRY_VOID(require_known_fields(body, {"mode"}));
  if (!body.contains("mode") || !body["mode"].is_string()) return fail(Errc::invalid_argument, "mode must be \"live\"");
  if (mode() == TenantMode::live) return fail(Errc::conflict, "the tenant is live already");
  return m_desk.request_mode_switch(body["mode"].get<std::string>(), caller.principal);
}

void Gate::record_refusal(const ipc::Peer& caller, const Json& body, const Error& error) {
  AuditEvent event;
  event.kind = "proposal.refused";
  event.actor_id = "approvald";
  if (body.is_object() && body.contains("run_id") && body["run_id"].is_string() &&
      body["run_id"].get_ref<const std::string&>().size() <= 128)
    event.run_id = body["run_id"].get<std::string>();
  event.data = {{"principal", caller.principal}, {"uid", caller.uid}, {"reason", error.message}};
  if (body.is_object() && body.contains("tool") && body["tool"].is_string() && body["tool"].get_ref<const std::string&>().size() <= 128)
    event.data["tool"] = body["tool"];
  if (auto recorded = m_audit.record(event); !recorded)
    log::warn("a refused proposal was not recorded", {{"error", recorded.error().message}});
}

Result<Json> Gate::decide(const ipc::Peer& caller, const Json& body) {
  auto proposal = parse_proposal(body);
  if (!proposal) {
    record_refusal(caller, body, proposal.error());
    return tl::unexpected(proposal.error());
  }
  const auto constitution = this->constitution();
  auto evaluation = evaluate(*constitution, *proposal, m_config.tenant, mode());
  if (!evaluation) {
    record_refusal(caller, body, evaluation.error());
    return tl::unexpected(evaluation.error());
  }

  const auto now = m_clock.now();
  const std::string id = CORDON_TRY(random_id("d-"));
  const std::string nonce = CORDON_TRY(random_id("n-"));
  std::string approval_id;
  Json approval = nullptr;
  const Effect policy_verdict = evaluation->verdict; // before a granted approval lets the call through
  if (evaluation->verdict == Effect::require_approval) {
    auto hold = m_desk.hold(*proposal, *evaluation, id);
    if (!hold) return fail(Errc::unavailable, "the call needs an approval, which cannot be opened now: " + hold.error().message);
    approval_id = hold->approval_id;
    approval = {{"id", approval_id}, {"approvers", hold->approvers}, {"evidence", hold->evidence}};
    if (hold->approved) {
      evaluation->verdict = Effect::allow;
      evaluation->reasons.push_back("approval " + approval_id + ": granted (" + hold->evidence + ")");
    }
  }
  const std::string issued_at = format_rfc3339_micros(now);
  const Json decision = {{"id", id},
                         {"tenant", m_config.tenant},
                         {"action_digest", evaluation->action_digest},
                         {"verdict", packet_verdict(evaluation->verdict)},
                         {"mode", mode_name(evaluation->mode)},
                         {"rules", evaluation->rules},
                         {"policy_version", evaluation->policy_version},
                         {"approval", approval},
                         {"issued_at", issued_at},
                         {"expires_at", format_rfc3339_micros(now + m_config.decision_ttl)},
                         {"nonce", nonce}};
  // What secretsd's `key.signed` names as `message_sha256`, so that an auditor can pair every
  // issued decision with its signing and every signing of the decision key with a decision.
  const std::string signed_sha256 = to_hex(crypto::sha256(CORDON_TRY(decision::decision_signing_bytes(decision))));

  AuditEvent event;
  event.kind = "decision.issued";
  event.actor_id = "approvald";
  event.run_id = proposal->run_id;
  event.data = {{"decision_id", id},
                {"action_digest", evaluation->action_digest},
                {"verdict", packet_verdict(evaluation->verdict)},
                {"policy_verdict", effect_name(policy_verdict)},
                {"mode", mode_name(evaluation->mode)},
                {"rules", evaluation->rules},
                {"reasons", evaluation->reasons},
                {"policy_version", evaluation->policy_version},
                {"confidence_bp", evaluation->confidence_bp},
                {"approvals_required", requirements_json(evaluation->approvals)},
                {"principal", caller.principal},
                {"proposal", proposal_json(*proposal)},
                {"decision_sha256", signed_sha256}};
  if (!approval_id.empty()) event.data["approval_id"] = approval_id;

  StoredDecision stored;
  stored.id = id;
  stored.run_id = proposal->run_id;
  stored.agent = proposal->agent;
  stored.tool = proposal->tool;
  stored.action_digest = evaluation->action_digest;
  stored.verdict = std::string(packet_verdict(evaluation->verdict));
  stored.state = state_of(evaluation->verdict);
  stored.mode = std::string(mode_name(evaluation->mode));
  stored.rules = evaluation->rules;
  stored.reasons = evaluation->reasons;
  stored.policy_version = evaluation->policy_version;
  stored.proposal = proposal_json(*proposal);
  stored.approvals_required = requirements_json(evaluation->approvals);
  stored.approval_id = approval_id;
  stored.issued_at = issued_at;
  // Signing (secretsd records `key.signed` before it answers), `decision.issued` and the SQLite
  // row run at the same time, so the two ledger appends share a commit; the packet is answered
  // only once all three are done. A decision recorded but not signed or not stored is withdrawn
  // (`decision.withdrawn`), and a row stored for a decision that is not issued is removed: its id
  // was never handed out.
  auto signing = m_side.run([this, &decision] { return m_signer.sign(decision); });
  auto inserting = m_side.run([this, &stored] { return m_store.insert(stored); });
  auto recorded = m_audit.record(event);
  auto packet = signing.get();
  auto inserted = inserting.get();
  if (recorded && packet && inserted) return std::move(*packet);

  if (inserted) (void)m_store.remove(id);
  if (!recorded)
    return fail(Errc::unavailable, "the decision was not recorded, so it is not issued: " + recorded.error().message);
  const std::string reason = !packet ? packet.error().message : "the decision could not be stored: " + inserted.error().message;
  withdraw(*proposal, id, reason);
  return fail(Errc::unavailable, "the decision is not issued: " + reason);
}

void Gate::withdraw(const Proposal& proposal, const std::string& id, const std::string& reason) {
  AuditEvent event;
  event.kind = "decision.withdrawn";
  event.actor_id = "approvald";
  event.run_id = proposal.run_id;
  event.data = {{"decision_id", id}, {"reason", reason}};
  if (auto recorded = m_audit.record(event); !recorded)
    log::warn("a withdrawn decision was not recorded", {{"decision_id", id}, {"error", recorded.error().message}});
}

Result<Json> Gate::decision(const std::string& id) const {
  if (id.empty() || id.size() > 64) return fail(Errc::invalid_argument, "a decision id is d- and 32 hex digits");
  const auto d = CORDON_TRY(m_store.find(id));
  Json out = {{"id", d.id},           {"state", d.state},
              {"verdict", d.verdict}, {"mode", d.mode},
              {"action_digest", d.action_digest}, {"rules", d.rules},
              {"reasons", d.reasons}, {"policy_version", d.policy_version},
              {"approvals_required", d.approvals_required}, {"issued_at", d.issued_at},
              {"run_id", d.run_id},   {"tool", d.tool}};
  if (!d.approval_id.empty()) out["approval_id"] = d.approval_id;
  return out;
}

Result<Json> Gate::pending_approvals() const { return m_desk.pending(); }

Json Gate::status() const {
  const auto constitution = this->constitution();
  const auto decisions = m_store.count();
  const auto pending = m_desk.pending_count();
  Json out = {{"tenant", m_config.tenant},
              {"pending_approvals", pending ? *pending : -1},
              {"mode", mode_name(mode())},
              {"policy_version", constitution->version},
              {"constitution_files", constitution->files},
              {"rules", constitution->rules.size()},
              {"decisions", decisions ? *decisions : -1}};
  out["dry_run_until"] = m_store.switched_live_at() ? Json(nullptr)
                                                    : Json(format_rfc3339_micros(m_store.provisioned_at() + m_config.dry_run_period));
  return out;
}

Result<Json> Gate::reload(const std::string& requested_by) {
  std::lock_guard reload_lock(m_reload_mutex);
  const auto previous = constitution();
  auto loaded = load_constitution(m_config.constitution_dir);
  if (!loaded) {
    AuditEvent refused{"policy.reload_refused", "system", "approvald", std::nullopt,
                       {{"requested_by", requested_by}, {"reason", loaded.error().message}, {"policy_version", previous->version}}, {}};
    if (auto recorded = m_audit.record(refused); !recorded)
      log::warn("a refused reload was not recorded", {{"error", recorded.error().message}});
    return fail(loaded.error().code == Errc::unknown_field ? Errc::invalid_argument : loaded.error().code,
                "the constitution was not reloaded; " + previous->version + " stays in force: " + loaded.error().message);
  }
  const bool changed = loaded->version != previous->version;
  const std::string version = loaded->version;
  if (changed) {
    AuditEvent reloaded{"policy.reloaded", "system", "approvald", std::nullopt,
                        {{"requested_by", requested_by}, {"previous_version", previous->version},
                         {"policy_version", loaded->version}, {"files", loaded->files}, {"constitution", loaded->canonical}}, {}};
    if (auto recorded = m_audit.record(reloaded); !recorded)
      return fail(Errc::unavailable, "the new constitution was not recorded, so " + previous->version + " stays in force: " +
                                         recorded.error().message);
    std::lock_guard lock(m_constitution_mutex);
    m_constitution = std::make_shared<const Constitution>(std::move(*loaded));
  }
  log::info("constitution reloaded", {{"policy_version", version}, {"changed", changed ? "yes" : "no"}});
  return Json{{"policy_version", version},
              {"previous_version", previous->version},
              {"changed", changed}};
}

} // namespace cordon::approvald

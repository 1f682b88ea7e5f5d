#include "approvald/approval_desk.h"
#include "approvald/policy/amendment.h"

#include <algorithm>
#include <set>

#include "common/crypto.h"
#include "common/decision/decision_packet.h"
#include "common/encoding.h"
#include "common/ipc/client_request.h"
#include "common/log.h"

namespace cordon::approvald {
namespace {

constexpr std::int64_t max_failed_attempts = 5;

ipc::ClientOptions secretsd_options() {
  ipc::ClientOptions options;
  options.timeout = std::chrono::milliseconds(5'000);
  options.max_response_bytes = 16 << 10;
  return options;
}

Result<std::string> random_token(std::size_t bytes) {
  const auto random = CORDON_TRY(crypto::random_bytes(bytes));
  std::string text = to_base64(random);
  // base64url without padding: safe in a URL path.
  for (char& c : text) c = c == '+' ? '-' : c == '/' ? '_' : c;
  while (!text.empty() && text.back() == '=') text.pop_back();
  return text;
}

std::string token_hash(const std::string& token) { return to_hex(crypto::sha256(token)); }

} // namespace

Result<std::string> base_digest(std::string_view tenant, const Proposal& proposal) {
  Json action = proposal.action();
  if (!action["target"].is_object() || !action["target"].contains("head")) return decision::action_digest(tenant, action);
  const Json head = action["target"]["head"];
  action["target"].erase("head");
  for (auto& [name, value] : action["arguments"].items())
    if (value == head) value = "<target.head>";
  return decision::action_digest(tenant, action);
}

ApprovalDesk::ApprovalDesk(Parts parts)
    : m_config(std::move(parts.config)), m_switch_mode(std::move(parts.switch_mode)),
      m_amend(std::move(parts.amend)), m_store(*parts.store), m_audit(*parts.audit), m_notifier(*parts.notifier),
      m_clock(*parts.clock), m_secretsd(m_config.secretsd_socket, secretsd_options()) {}

void ApprovalDesk::set_public_url(std::string url) {
  std::lock_guard lock(m_url_mutex);
  m_public_url = std::move(url);
}

const ApproverConfig* ApprovalDesk::approver(const std::string& name) const {
  for (const auto& known : m_config.approvers)
    if (known.name == name) return &known;
  return nullptr;
}

std::vector<std::string> ApprovalDesk::eligible_approvers(const Json& requirements) const {
  std::vector<std::string> out;
  for (const auto& candidate : m_config.approvers) {
    const bool member = std::any_of(requirements.begin(), requirements.end(), [&](const Json& requirement) {
      const std::string group = requirement.value("group", "approvers");
      return std::find(candidate.groups.begin(), candidate.groups.end(), group) != candidate.groups.end();
    });
    if (member) out.push_back(candidate.name);
  }
  return out;
}

bool ApprovalDesk::requirements_met(const ApprovalRecord& approval) const {
  for (const Json& requirement : approval.requirements) {
    const std::string group = requirement.value("group", "approvers");
    std::int64_t yes = 0;
    for (const Grant& grant : approval.grants) {
      const auto* who = approver(grant.approver);
      if (grant.choice == "approve" && who && std::find(who->groups.begin(), who->groups.end(), group) != who->groups.end()) ++yes;
    }
    if (yes < requirement.value("count", std::int64_t{1})) return false;
  }
  return true;
}

Result<Json> ApprovalDesk::pending() const {
  Json list = Json::array();
  for (const auto& approval : CORDON_TRY(m_store.pending())) {
    Json grants = Json::array();
    for (const auto& grant : approval.grants)
      grants.push_back({{"approver", grant.approver}, {"choice", grant.choice}, {"at", grant.at}});
    list.push_back({{"id", approval.id}, {"decision_id", approval.decision_id}, {"agent", approval.agent},
                    {"tool", approval.tool}, {"run_id", approval.run_id}, {"action_digest", approval.action_digest},
                    {"requirements", approval.requirements}, {"reasons", approval.reasons}, {"grants", grants},
                    {"created_at", format_rfc3339_micros(approval.created_at)}, {"deadline", deadline_of(approval)},
                    {"nudges", approval.nudges}});
  }
  return Json{{"approvals", std::move(list)}};
}

std::string ApprovalDesk::deadline_of(const ApprovalRecord& approval) const {
  return format_rfc3339_micros(approval.created_at + m_config.sla.close);
}

Result<void> ApprovalDesk::record(std::string kind, const ApprovalRecord& approval, Json data, std::string actor_type,
                                  std::string actor_id) {
  AuditEvent event;
  event.kind = std::move(kind);
  event.actor_type = std::move(actor_type);
  event.actor_id = std::move(actor_id);
  event.run_id = approval.run_id;
  data["approval_id"] = approval.id;
  data["action_digest"] = approval.action_digest;
  event.data = std::move(data);
  auto recorded = m_audit.record(event);
  if (!recorded) return tl::unexpected(recorded.error());
  return ok();
}

Result<std::vector<std::string>> ApprovalDesk::issue_links(const ApprovalRecord& approval, const std::vector<std::string>& skip) {
  std::string base;
  {
    std::lock_guard lock(m_url_mutex);
    base = m_public_url;
  }
  std::vector<std::string> links;
  if (base.empty()) return links; // no web listener: nobody can answer through a link
  for (const auto& name : eligible_approvers(approval.requirements)) {
    if (std::find(skip.begin(), skip.end(), name) != skip.end()) continue;
    const std::string token = CORDON_TRY(random_token(32));
    CORDON_TRY_VOID(m_store.add_link({token_hash(token), approval.id, name, approval.created_at + m_config.sla.close, false, 0}));
    links.push_back(name + ": " + base + "/a/" + token);
  }
  return links;
}

void ApprovalDesk::announce(const ApprovalRecord& approval, const std::string& event, const std::vector<std::string>& links) {
  Announcement announcement;
  announcement.event = event;
  announcement.approval_id = approval.id;
  std::string text = "Cordon approval " + approval.id + ": " + approval.agent + " asks to run " + approval.tool + " (" +
                     approval.action_digest.substr(0, 19) + "…), held by " + approval.rules.dump() + ".";
  if (event == "approval.nudged") text = "Reminder. " + text;
  if (event == "approval.deadline") text = "Last reminder: closes " + deadline_of(approval) + ". " + text;
  for (const auto& link : links) text += "\n" + link;
  announcement.text = std::move(text);
  Json link_list = Json::array();
  for (const auto& link : links) {
    const auto colon = link.find(": ");
    link_list.push_back({{"approver", link.substr(0, colon)}, {"url", link.substr(colon + 2)}});
  }
  announcement.payload = {{"decision_id", approval.decision_id}, {"agent", approval.agent},  {"tool", approval.tool},
                          {"action_digest", approval.action_digest}, {"rules", approval.rules}, {"reasons", approval.reasons},
                          {"requirements", approval.requirements}, {"links", link_list}, {"deadline", deadline_of(approval)},
                          {"sent_at", format_rfc3339_micros(m_clock.now())}};
  m_notifier.announce(std::move(announcement));
}

Result<ApprovalDesk::Hold> ApprovalDesk::hold(const Proposal& proposal, const Evaluation& evaluation,
                                              const std::string& decision_id) {
  std::lock_guard lock(m_answer_mutex);
  const std::string base = CORDON_TRY(base_digest(m_config.tenant, proposal));
  for (const auto& other : CORDON_TRY(m_store.open_elsewhere(base, evaluation.action_digest))) {
    if (!m_store.transition(other.id, other.state, "stale", "target.head moved on")) continue;
    const Json head = proposal.target.is_object() ? proposal.target.value("head", Json()) : Json();
    if (auto recorded = record("approval.stale", other, {{"was", other.bindings}, {"now_head", head}}); !recorded)
      log::warn("a stale approval was not recorded", {{"approval_id", other.id}});
  }

  if (auto open = CORDON_TRY(m_store.find_open(evaluation.action_digest))) {
    Hold hold;
    hold.approval_id = open->id;
    if (open->state == "pending") return hold;
    CORDON_TRY_VOID(m_store.transition(open->id, "approved", "used", "used by decision " + decision_id));
    CORDON_TRY_VOID(record("approval.used", *open, {{"decision_id", decision_id}}));
    hold.approved = true;
    hold.evidence = "totp:";
    for (const Grant& grant : open->grants) {
      if (grant.choice != "approve") continue;
      hold.approvers.push_back(grant.approver);
      hold.evidence += (hold.evidence.size() > 5 ? ", " : " ") + grant.approver + " " + grant.at;
    }
    return hold;
  }

  ApprovalRecord approval;
  approval.id = "a-" + to_hex(CORDON_TRY(crypto::random_bytes(16)));
  approval.decision_id = decision_id;
  approval.action_digest = evaluation.action_digest;
  approval.base_digest = base;
  if (proposal.target.is_object() && proposal.target.contains("head")) approval.bindings = {{"target.head", proposal.target["head"]}};
  for (const auto& requirement : evaluation.approvals)
    approval.requirements.push_back({{"count", requirement.count}, {"group", requirement.group}, {"bind", requirement.bind}});
  approval.agent = proposal.agent;
  approval.tool = proposal.tool;
  approval.run_id = proposal.run_id;
  approval.proposal = proposal_json(proposal);
  approval.rules = evaluation.rules;
  approval.reasons = evaluation.reasons;
  approval.created_at = m_clock.now();
  CORDON_TRY_VOID(m_store.create(approval));
  const auto eligible = eligible_approvers(approval.requirements);
  CORDON_TRY_VOID(record("approval.requested", approval,
                         {{"decision_id", decision_id}, {"requirements", approval.requirements}, {"approvers", eligible},
                          {"deadline", deadline_of(approval)}, {"bindings", approval.bindings}}));
  if (eligible.empty()) log::warn("no enrolled approver can answer this approval", {{"approval_id", approval.id}});
  announce(approval, "approval.requested", CORDON_TRY(issue_links(approval, {})));
  return Hold{false, approval.id, {}, ""};
}

Result<ApprovalDesk::LinkView> ApprovalDesk::open_link(const std::string& token) const {
  if (token.size() != 43) return fail(Errc::not_found, "this approval link is not valid");
  const auto link = CORDON_TRY(m_store.find_link(token_hash(token)));
  if (!link) return fail(Errc::not_found, "this approval link is not valid");
  if (link->used) return fail(Errc::conflict, "this approval link was used already; each link works once");
  if (link->failed_attempts >= max_failed_attempts) return fail(Errc::conflict, "this approval link is closed after too many wrong codes");
  if (m_clock.now() >= link->expires_at) return fail(Errc::conflict, "this approval link has expired");
  auto approval = CORDON_TRY(m_store.find(link->approval_id));
  if (approval.state != "pending") return fail(Errc::conflict, "this approval is " + approval.state + " and takes no more answers");
  const bool can_amend = approval.tool != mode_switch_tool && amendable(approval.rules);
  return LinkView{std::move(approval), link->approver, deadline_of(approval), can_amend};
}

Result<void> ApprovalDesk::verify_second_factor(const std::string& name, const std::string& code, const std::string& context) {
  const Json body = {{"approver", name}, {"code", code}, {"context", context}};
  auto response = m_secretsd.request(ipc::Method::post, "/v1/totp/verify", body.dump(), "application/json");
  if (!response) return fail(Errc::unavailable, "the second factor cannot be checked now: " + response.error().message);
  if (response->status == 200) return ok();
  Error error = ipc::error_from_response(*response);
  if (response->status >= 500) error.code = Errc::unavailable;
  return tl::unexpected(std::move(error));
}

Result<ApprovalDesk::Answer> ApprovalDesk::answer(const std::string& token, const std::string& code, const std::string& choice) {
  std::lock_guard lock(m_answer_mutex);
  auto answered = answer_locked(token, code, choice);
  const auto link = answered ? Result<std::optional<LinkRecord>>() : m_store.find_link(token_hash(token));
  if (!answered && link && *link) {
    // Every refused answer through a real link is recorded, best effort: the refusal stands
    // either way. Unknown tokens are refused unrecorded, so that guessing cannot flood the ledger.
    AuditEvent event;
    event.kind = "approval.answer_refused";
    event.actor_id = "approvald";
    event.data = {{"reason", answered.error().message}, {"approval_id", (*link)->approval_id},
                  {"approver", (*link)->approver}, {"choice", choice}};
    if (auto recorded = m_audit.record(event); !recorded) log::warn("a refused answer was not recorded", {{"error", recorded.error().message}});
  }
  return answered;
}

Result<ApprovalDesk::Answer> ApprovalDesk::answer_locked(const std::string& token, const std::string& code, const std::string& choice) {
  if (choice != "approve" && choice != "reject" && choice != "approve_amend")
    return fail(Errc::invalid_argument, "the answer is approve, reject or approve_amend");
  auto view = CORDON_TRY(open_link(token));
  const bool amend = choice == "approve_amend";
  if (amend && !view.amendable)
    return fail(Errc::invalid_argument, "no rule can lift this hold: it was held by " + view.approval.rules.dump() +
                                            ", and an allow rule only changes calls no rule matched");
  ApprovalRecord& approval = view.approval;
  const ApproverConfig* who = approver(view.approver);
  if (!who) return fail(Errc::permission_denied, view.approver + " is no longer an enrolled approver");
  if (who->name == approval.agent) return fail(Errc::permission_denied, "an agent identity can never approve");
  for (const Grant& grant : approval.grants)
    if (grant.approver == who->name) return fail(Errc::conflict, who->name + " has answered this approval already");

  const std::string hash = token_hash(token);
  if (auto verified = verify_second_factor(who->name, code, approval.id + " " + approval.action_digest); !verified) {
    if (verified.error().code != Errc::unavailable) (void)m_store.fail_link_attempt(hash);
    return tl::unexpected(verified.error());
  }
  CORDON_TRY_VOID(m_store.use_link(hash));
  const Grant grant{who->name, amend ? "approve" : choice, "totp", format_rfc3339_micros(m_clock.now())};
  CORDON_TRY_VOID(record(grant.choice == "approve" ? "approval.granted" : "approval.rejected", approval,
                         {{"approver", who->name}, {"factor", "totp"}, {"choice", choice}, {"tool", approval.tool}},
                         "human", who->name));
  CORDON_TRY_VOID(m_store.add_grant(approval.id, grant));
  approval.grants.push_back(grant);

  Answer answer{approval.id, "pending", who->name, "", ""};
  if (amend) {
    // The amendment is the approver's second answer, under the same second factor: a rule for the
    // call's class, in force once recorded. A failed amendment leaves the approval standing.
    auto proposal = parse_proposal(approval.proposal);
    const std::string rule_id = "amend-" + approval.id.substr(2, 12);
    const std::string description = "Allowed by " + who->name + " on " + grant.at.substr(0, 10) + " with approval " + approval.id + ".";
    auto rule = proposal ? amendment_rule(*proposal, rule_id, description) : Result<std::string>(tl::unexpected(proposal.error()));
    auto version = rule ? (m_amend ? m_amend(*rule, "approver:" + who->name) : Result<std::string>(fail(Errc::internal, "approvald cannot amend")))
                        : Result<std::string>(tl::unexpected(rule.error()));
    if (version) {
      answer.amended_version = *version;
      answer.amended_rule = rule_id;
      if (auto recorded = record("policy.amended", approval, {{"approver", who->name}, {"rule_id", rule_id}, {"rule", *rule},
                                                               {"policy_version", *version}}, "human", who->name);
          !recorded)
        log::warn("an amendment was not recorded as policy.amended", {{"error", recorded.error().message}});
    } else {
      (void)record("policy.amend_refused", approval, {{"approver", who->name}, {"reason", version.error().message}}, "human", who->name);
      log::warn("an amendment was refused", {{"approval_id", approval.id}, {"error", version.error().message}});
    }
  }
  if (choice == "reject") {
    CORDON_TRY_VOID(m_store.transition(approval.id, "pending", "rejected", "rejected by " + who->name));
    answer.state = "rejected";
    announce(approval, "approval.closed", {});
  } else if (requirements_met(approval)) {
    std::vector<std::string> approvers;
    for (const Grant& g : approval.grants)
      if (g.choice == "approve") approvers.push_back(g.approver);
    CORDON_TRY_VOID(record("approval.approved", approval, {{"approvers", approvers}, {"decision_id", approval.decision_id}}));
    CORDON_TRY_VOID(m_store.transition(approval.id, "pending", "approved", ""));
    answer.state = "approved";
    if (approval.tool == mode_switch_tool) {
      // A mode switch is carried out by approvald itself, at once, and used up.
      const std::string mode = approval.proposal["arguments"].value("mode", "");
      CORDON_TRY_VOID(record("tenant.mode_changed", approval, {{"mode", mode}, {"approvers", approvers}}));
      if (!m_switch_mode) return fail(Errc::internal, "approvald cannot switch modes");
      CORDON_TRY_VOID(m_switch_mode(mode));
      CORDON_TRY_VOID(m_store.transition(approval.id, "approved", "used", "mode switched to " + mode));
      answer.state = "approved";
    }
  }
  return answer;
}

Result<Json> ApprovalDesk::request_mode_switch(const std::string& mode, const std::string& requested_by) {
  if (mode != "live") return fail(Errc::invalid_argument, "the mode can only be switched to live");
  std::lock_guard lock(m_answer_mutex);
  const Json action = {{"tool", mode_switch_tool}, {"tool_pin", "sha256:none"}, {"arguments", {{"mode", mode}}}, {"target", nullptr}};
  const std::string digest = CORDON_TRY(decision::action_digest(m_config.tenant, action));
  if (auto open = CORDON_TRY(m_store.find_open(digest)))
    return Json{{"approval_id", open->id}, {"state", open->state}, {"mode", mode}};
  ApprovalRecord approval;
  approval.id = "a-" + to_hex(CORDON_TRY(crypto::random_bytes(16)));
  approval.decision_id = "mode-switch";
  approval.action_digest = digest;
  approval.base_digest = digest;
  approval.requirements = Json::array({{{"count", 1}, {"group", "approvers"}, {"bind", Json::array()}}});
  approval.agent = "admin:" + requested_by;
  approval.tool = std::string(mode_switch_tool);
  approval.run_id = "mode-switch";
  approval.proposal = {{"tool", mode_switch_tool}, {"arguments", {{"mode", mode}}}, {"requested_by", requested_by},
                       {"rationale", "An admin asks to end the dry-run period and switch the tenant to live."}};
  approval.rules = Json::array({"floor.dry_run"});
  approval.reasons = Json::array({"floor.dry_run: only an approved switch ends the dry-run period"});
  approval.created_at = m_clock.now();
  CORDON_TRY_VOID(m_store.create(approval));
  CORDON_TRY_VOID(record("approval.requested", approval,
                         {{"requested_by", requested_by}, {"mode", mode}, {"requirements", approval.requirements},
                          {"approvers", eligible_approvers(approval.requirements)}, {"deadline", deadline_of(approval)}}));
  announce(approval, "approval.requested", CORDON_TRY(issue_links(approval, {})));
  return Json{{"approval_id", approval.id}, {"state", "pending"}, {"mode", mode}};
}

void ApprovalDesk::tick() {
  std::lock_guard lock(m_answer_mutex);
  auto pending = m_store.pending();
  if (!pending) return;
  const auto now = m_clock.now();
  for (ApprovalRecord& approval : *pending) {
    const auto age = now - approval.created_at;
    std::vector<std::string> answered;
    for (const Grant& grant : approval.grants) answered.push_back(grant.approver);
    if (age >= m_config.sla.close) {
      // Recorded first: an approval whose closing the ledger did not take stays open and is tried again.
      if (!record("approval.aged_out", approval, {{"reason", "aged_out"}, {"deadline", deadline_of(approval)}})) continue;
      if (m_store.transition(approval.id, "pending", "aged_out", "aged_out")) announce(approval, "approval.closed", {});
    } else if ((age >= m_config.sla.second_nudge && approval.nudges < 2) || (age >= m_config.sla.nudge && approval.nudges < 1)) {
      const std::int64_t nudge = age >= m_config.sla.second_nudge ? 2 : 1;
      if (!record("approval.nudged", approval, {{"nudge", nudge}, {"deadline", deadline_of(approval)}})) continue;
      (void)m_store.set_nudges(approval.id, nudge);
      auto links = issue_links(approval, answered);
      announce(approval, nudge == 2 ? "approval.deadline" : "approval.nudged", links ? *links : std::vector<std::string>{});
    }
  }
}

} // namespace cordon::approvald

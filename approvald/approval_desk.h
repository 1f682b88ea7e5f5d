#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "approvald/approval_store.h"
#include "approvald/approvald_config.h"
#include "approvald/notifier.h"
#include "approvald/policy/evaluator.h"
#include "approvald/policy/proposal.h"
#include "common/audit/audit_client.h"
#include "common/clock.h"
#include "common/ipc/client_pool.h"
#include "common/json.h"

namespace cordon::approvald {

// Human approvals (DESIGN.md §5.4), without HTTP: holds calls for approvers, takes their answers
// through one-time links with a second factor checked by secretsd, and runs the SLA timers.
//
// Guarantees: an approval binds to the exact action digest, and is used by one call only; a call
// of the same tool and arguments on a newer target.head makes an open approval stale; nobody
// answers twice, an agent identity never answers, and an approver answers only for groups they
// belong to; every answer is recorded in the audit ledger before it counts (fail closed). Link
// tokens are 256-bit random, stored as SHA-256, single use, expire with the approval's deadline,
// and die after five wrong codes. Thread-safe.
class ApprovalDesk {
public:
  struct Parts {
    ApprovaldConfig config;
    ApprovalStore* store;
    AuditClient* audit;
    Notifier* notifier;
    const Clock* clock;
    // Applies an approved switch of the tenant's mode (approvald's DecisionStore).
    std::function<Result<void>(const std::string& mode)> switch_mode;
    // Adds a rule (TOML) to the constitution and puts the new version in force; returns it.
    std::function<Result<std::string>(const std::string& rule, const std::string& requested_by)> amend;
  };
  explicit ApprovalDesk(Parts parts);

  // The tool name of the approvals that switch the tenant's mode (DESIGN.md §5.3: the dry-run
  // period ends early only by an approved switch to live).
  static constexpr std::string_view mode_switch_tool = "cordon.mode";
  // Opens an approval to switch the tenant to `mode` (live), requested by an admin; the switch
  // happens, and is recorded as tenant.mode_changed, once approvers of group `approvers` grant it.
  Result<Json> request_mode_switch(const std::string& mode, const std::string& requested_by);

  // What the gate puts in the decision for a call the policy holds.
  struct Hold {
    bool approved = false;   // an approval of this exact call was granted: the call may run
    std::string approval_id;
    std::vector<std::string> approvers; // who approved (when approved)
    std::string evidence;               // "totp: alice 2026-…, bob 2026-…"
  };
  // Finds or opens the approval for a held call. A granted approval is spent here.
  Result<Hold> hold(const Proposal& proposal, const Evaluation& evaluation, const std::string& decision_id);

  // What the approval page shows for a link (GET): Errc::not_found for an unknown link,
  // Errc::conflict for one that was used, expired or whose approval is closed.
  struct LinkView {
    ApprovalRecord approval;
    std::string approver;
    std::string deadline;
    bool amendable = false; // "approve and amend" can lift this hold (policy/amendment.h)
  };
  Result<LinkView> open_link(const std::string& token) const;
  // An approver's answer through a link (POST): `choice` approve | reject | approve_amend, `code`
  // their TOTP. approve_amend approves and adds a rule allowing the call's class from now on
  // (recorded as policy.amended, the new version as policy.reloaded); only for amendable holds.
  // A refused answer is recorded as approval.answer_refused with the reason.
  struct Answer {
    std::string approval_id;
    std::string state; // the approval's state afterwards
    std::string approver;
    std::string amended_version; // approve_amend: the constitution now in force
    std::string amended_rule;    // approve_amend: the rule's id
  };
  Result<Answer> answer(const std::string& token, const std::string& code, const std::string& choice);

  // The SLA timers: nudge, nudge with the deadline, close as aged_out. The daemon calls it four
  // times a second; it works from the stored creation times, so timers survive restarts.
  void tick();

  // Where links point: https://host:port (set once the web listener is bound).
  void set_public_url(std::string url);
  Result<std::int64_t> pending_count() const { return m_store.count_pending(); }
  // The pending approvals, oldest first, as `GET /v1/approvals` answers them: what was asked,
  // by whom, why, what it needs, who answered so far and when it closes. No link tokens.
  Result<Json> pending() const;

private:
  Result<Answer> answer_locked(const std::string& token, const std::string& code, const std::string& choice);
  Result<std::vector<std::string>> issue_links(const ApprovalRecord& approval, const std::vector<std::string>& skip);
  std::vector<std::string> eligible_approvers(const Json& requirements) const;
  const ApproverConfig* approver(const std::string& name) const;
  bool requirements_met(const ApprovalRecord& approval) const;
  void announce(const ApprovalRecord& approval, const std::string& event, const std::vector<std::string>& links);
  Result<void> verify_second_factor(const std::string& approver, const std::string& code, const std::string& context);
  Result<void> record(std::string kind, const ApprovalRecord& approval, Json data, std::string actor_type = "system",
                      std::string actor_id = "approvald");
  std::string deadline_of(const ApprovalRecord& approval) const;

  ApprovaldConfig m_config;
  std::function<Result<void>(const std::string& mode)> m_switch_mode;
  std::function<Result<std::string>(const std::string& rule, const std::string& requested_by)> m_amend;
  ApprovalStore& m_store;
  AuditClient& m_audit;
  Notifier& m_notifier;
  const Clock& m_clock;
  ipc::ClientPool m_secretsd;
  mutable std::mutex m_url_mutex;
  std::string m_public_url;
  std::mutex m_answer_mutex; // answers and timers change one approval at a time
};

// The digest of a call without target.head (and with every argument equal to it, such as
// git.push's `head`, masked): the same call on another head of its target has the same one.
Result<std::string> base_digest(std::string_view tenant, const Proposal& proposal);

} // namespace cordon::approvald

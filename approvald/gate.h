#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "approvald/approval_desk.h"
#include "approvald/approvald_config.h"
#include "approvald/decision_signer.h"
#include "approvald/decision_store.h"
#include "approvald/policy/constitution.h"
#include "approvald/policy/evaluator.h"
#include "common/audit/audit_client.h"
#include "common/clock.h"
#include "common/ipc/peer.h"
#include "common/json.h"
#include "common/side_threads.h"

namespace cordon::approvald {

// The gate (DESIGN.md §5): turns proposals into signed decisions under the constitution in
// force and the hard floor, and keeps the constitution current. Knows nothing about HTTP.
//
// Fail closed: a packet is answered only once its decision is signed by secretsd, recorded as
// `decision.issued` in auditd and stored; if any of the three fails there is no packet and the
// caller gets Errc::unavailable with the reason. The three run at the same time, so a decision
// can be recorded and then fail to be signed or stored: approvald then records
// `decision.withdrawn` for it (best effort; a packet exists only for a `decision.issued` whose
// `decision_sha256` a `key.signed` of the decision key names). Thread-safe.
class Gate {
public:
  struct Parts {
    ApprovaldConfig config;
    Constitution constitution;
    DecisionSigner* signer;
    AuditClient* audit;
    DecisionStore* store;
    ApprovalDesk* desk;
    const Clock* clock;
  };
  explicit Gate(Parts parts);

  // POST /v1/decisions: the signed packet. Refusals (a proposal that cannot be judged) are
  // recorded as `proposal.refused`. A held call opens (or finds) its approval; once that is
  // granted, the same call gets an allow citing it, exactly once.
  Result<Json> decide(const ipc::Peer& caller, const Json& body);
  // GET /v1/decisions/{id}.
  Result<Json> decision(const std::string& id) const;
  Json status() const;
  Result<Json> pending_approvals() const;
  // Reads the constitution directory again. A constitution that does not parse is refused and
  // the one in force stays; a new one takes effect only once `policy.reloaded` is recorded.
  Result<Json> reload(const std::string& requested_by);

  TenantMode mode() const;
  // POST /v1/mode: an admin asks to switch to live; an approval decides (ApprovalDesk).
  Result<Json> request_mode(const ipc::Peer& caller, const Json& body);
  std::shared_ptr<const Constitution> constitution() const;

private:
  void record_refusal(const ipc::Peer& caller, const Json& body, const Error& error);
  // Records `decision.withdrawn` for a decision recorded as issued whose packet was not made.
  void withdraw(const Proposal& proposal, const std::string& id, const std::string& reason);

  ApprovaldConfig m_config;
  DecisionSigner& m_signer;
  AuditClient& m_audit;
  DecisionStore& m_store;
  ApprovalDesk& m_desk;
  const Clock& m_clock;
  mutable std::mutex m_constitution_mutex;
  std::shared_ptr<const Constitution> m_constitution;
  std::mutex m_reload_mutex;
  // Where a decision is signed and its SQLite row stored while the calling thread records it.
  // Last, so that it stops before anything its tasks use.
  SideThreads m_side;
};

} // namespace cordon::approvald

#pragma once

#include <cstddef>

// approvald's contract (DESIGN.md §5). On the Unix socket /run/cordon/approvald.sock, every
// request attributed by SO_PEERCRED; bodies are JSON, unknown members are refused, errors are
// RFC 9457 problems.
//
//   POST /v1/decisions       agentd       a proposal (§5.1: run_id, agent, tool, tool_pin,
//                                         arguments, target?, confidence_bp, rationale?,
//                                         citations?, observed? {untrusted_spans,
//                                         injection_flags, tainted_arguments}) ->
//                                         201 the signed decision packet (§5.2)
//                                         {"decision", "signature", "key_id"}, verdict allow,
//                                         deny or pending; a pending decision's
//                                         decision.approval.id names the approval it waits for.
//                                         400 for a proposal that cannot be judged (unknown
//                                         tool, stale tool_pin, malformed), 503 when secretsd
//                                         or auditd cannot sign or record it: no packet then.
//   GET  /v1/decisions/{id}  agentd, admin {"id", "state", "verdict", "mode", "action_digest",
//                                         "rules", "reasons", "policy_version", "approval_id"?,
//                                         "approvals_required", "issued_at", "run_id", "tool"}
//                                         state: allowed | denied | pending
//   GET  /v1/status          any mapped   {"tenant", "mode", "dry_run_until", "policy_version",
//                                         "constitution_files", "rules", "decisions"}
//   GET  /v1/tools           any mapped   {"tools": [{"name", "description", "input_schema",
//                                         "irreversible", "sensitive_arguments", "tool_pin"}]}:
//                                         the tools approvald judges, with the pins proposals
//                                         must carry
//   POST /v1/mode            admin        {"mode": "live"} -> 202 {"approval_id", "state",
//                                         "mode"}: ends the dry-run period once approvers of
//                                         group "approvers" grant it (tenant.mode_changed); 409
//                                         when live already
//   POST /v1/policy/reload   admin        {} -> {"policy_version", "previous_version",
//                                         "changed"}; a constitution that does not parse is
//                                         refused (400, naming the file and rule) and the one
//                                         in force stays
//
// Every decision is recorded as `decision.issued` (with the proposal, the cited rules and their
// reasons) before its packet is answered; every refusal of a proposal as `proposal.refused`.
namespace cordon::approvald {

inline constexpr std::size_t max_request_body_bytes = 256 << 10;

} // namespace cordon::approvald

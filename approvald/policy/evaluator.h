#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "approvald/policy/constitution.h"
#include "approvald/policy/facts.h"
#include "approvald/policy/proposal.h"
#include "common/error.h"

namespace cordon::approvald {

enum class TenantMode { live, dry_run };

// The outcome of evaluating one proposal (DESIGN.md §5.3).
struct Evaluation {
  Effect verdict = Effect::require_approval;
  TenantMode mode = TenantMode::dry_run;
  std::string action_digest;
  std::string policy_version;
  // Cited: every matched rule whose effect is the constitution's verdict (or
  // "constitution.no_match"), then every floor that held, then "floor.dry_run" in dry-run mode.
  std::vector<std::string> rules;
  std::vector<std::string> reasons; // one per cited rule, "<id>: <why>"
  // What a human approval must satisfy (each requirement), when the verdict is require_approval.
  std::vector<ApprovalRequirement> approvals;
  std::vector<std::string> matched_rules; // every constitution rule that matched, for coverage
  std::int64_t confidence_bp = 0;         // after the injection clamp
  Facts facts;
};

// Evaluates a proposal for `tenant`: derives the facts, matches every rule (a rule matches when
// one of its tool globs matches and all its conditions hold), combines deny > require_approval
// > allow with no match meaning require_approval, then applies the hard floor, which can only
// raise the verdict. Deterministic: the same constitution and proposal give the same result.
// Errors (Errc::invalid_argument) only for a proposal that cannot be judged: unknown tool,
// wrong tool pin, unparsable SQL, a malformed action.
Result<Evaluation> evaluate(const Constitution& constitution, const Proposal& proposal, std::string_view tenant,
                            TenantMode mode);

std::string_view mode_name(TenantMode mode);
// "allow" | "deny" | "pending" (require_approval), as decision packets say it.
std::string_view packet_verdict(Effect verdict);

} // namespace cordon::approvald

#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "approvald/policy/constitution.h"
#include "approvald/policy/facts.h"
#include "approvald/policy/proposal.h"

// The hard floor (DESIGN.md §5.3): rules in code that only ever raise a verdict. No
// constitution can make a floor-gated action autonomous: the evaluator takes the stronger of
// the constitution's effect and every finding here.
namespace cordon::approvald {

// Confidence of a run with suspected prompt injection is clamped to at most this (below 0.4),
// which is below every permitted confidence threshold.
inline constexpr std::int64_t injection_confidence_clamp_bp = 3999;
// More recipients than this in one email.send is bulk mail.
inline constexpr std::size_t bulk_email_recipients = 10;
// Resource tags that always need a human.
inline constexpr std::string_view sensitive_tags[] = {"auth", "payments", "pii"};

struct FloorDescription {
  std::string_view id;
  Effect effect;
  std::string_view description;
};

// Every floor, for docs, lint and the approval page.
std::span<const FloorDescription> floor_catalog();

struct FloorFinding {
  std::string id;     // "floor.sql_write"
  Effect effect;      // require_approval or deny
  std::string reason; // one sentence for the approver and the audit record
};

// The proposal's confidence after the injection clamp.
std::int64_t effective_confidence(const Proposal& proposal);

// Every floor that holds for this call, in floor_catalog() order.
std::vector<FloorFinding> apply_floor(const Proposal& proposal, const Facts& facts,
                                      std::int64_t confidence_threshold_bp);

} // namespace cordon::approvald

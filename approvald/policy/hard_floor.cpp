#include "approvald/policy/hard_floor.h"

#include <algorithm>
#include <array>

namespace cordon::approvald {
namespace {

constexpr std::array floors{
    FloorDescription{"floor.credentials", Effect::deny,
                     "Generating, rotating or transmitting credentials is denied to agents."},
    FloorDescription{"floor.force_push", Effect::deny, "A forced push is denied to agents."},
    FloorDescription{"floor.branch_delete", Effect::deny, "Deleting a branch is denied to agents."},
    FloorDescription{"floor.bulk_email", Effect::deny, "Unsolicited bulk email (more than 10 recipients) is denied to agents."},
    FloorDescription{"floor.sql_write", Effect::require_approval,
                     "SQL that is not plainly read-only (DDL, DML, DCL, locking, side-effect functions) is never executed autonomously."},
    FloorDescription{"floor.irreversible", Effect::require_approval, "An action the tool declares irreversible needs a human."},
    FloorDescription{"floor.sensitive_resource", Effect::require_approval,
                     "An action touching a resource tagged auth, payments or pii needs a human."},
    FloorDescription{"floor.injection", Effect::require_approval,
                     "A run with suspected prompt injection has its confidence clamped below 0.4 and needs a human."},
    FloorDescription{"floor.confidence", Effect::require_approval, "Confidence below the tenant's threshold needs a human."},
    FloorDescription{"floor.untrusted_flow", Effect::require_approval,
                     "Untrusted data flowing into a sensitive argument needs a human."},
};

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

void add(std::vector<FloorFinding>& findings, std::string_view id, std::string reason) {
  const auto* floor = std::find_if(floors.begin(), floors.end(), [&](const auto& f) { return f.id == id; });
  findings.push_back({std::string(id), floor->effect, std::move(reason)});
}

} // namespace

std::span<const FloorDescription> floor_catalog() { return floors; }

std::int64_t effective_confidence(const Proposal& proposal) {
  if (proposal.observed.injection_flags.empty()) return proposal.confidence_bp;
  return std::min(proposal.confidence_bp, injection_confidence_clamp_bp);
}

std::vector<FloorFinding> apply_floor(const Proposal& proposal, const Facts& facts,
                                      std::int64_t confidence_threshold_bp) {
  std::vector<FloorFinding> findings;
  const tools::FloorClass kind = facts.tool->floor;
  if (kind == tools::FloorClass::credentials)
    add(findings, "floor.credentials", proposal.tool + " generates or rotates credentials");
  if (kind == tools::FloorClass::http && !facts.credential_headers.empty())
    add(findings, "floor.credentials", "the agent sets the credential header(s) " + join(facts.credential_headers) +
                                           " itself; credentials come only from leases");
  if (kind == tools::FloorClass::force_push && facts.force) add(findings, "floor.force_push", "the push is forced");
  if (kind == tools::FloorClass::branch_delete) add(findings, "floor.branch_delete", "the call deletes a branch");
  if (kind == tools::FloorClass::email && facts.recipients > bulk_email_recipients)
    add(findings, "floor.bulk_email", "the mail goes to " + std::to_string(facts.recipients) + " recipients");
  if (kind == tools::FloorClass::sql && facts.sql_read_only != true)
    add(findings, "floor.sql_write", "the SQL is not read-only: " + join(facts.sql_reasons));
  if (facts.tool->irreversible) add(findings, "floor.irreversible", proposal.tool + " is declared irreversible");

  std::vector<std::string> sensitive;
  for (const auto& tag : facts.tags)
    if (std::find(std::begin(sensitive_tags), std::end(sensitive_tags), tag) != std::end(sensitive_tags))
      sensitive.push_back(tag);
  if (!sensitive.empty()) add(findings, "floor.sensitive_resource", "the call touches resources tagged " + join(sensitive));

  if (!proposal.observed.injection_flags.empty())
    add(findings, "floor.injection", "the run is suspected of prompt injection (" + join(proposal.observed.injection_flags) +
                                         "); confidence clamped to " + std::to_string(effective_confidence(proposal)) + " bp");
  const std::int64_t confidence = effective_confidence(proposal);
  if (confidence < confidence_threshold_bp)
    add(findings, "floor.confidence", "confidence " + std::to_string(confidence) + " bp is below the threshold " +
                                          std::to_string(confidence_threshold_bp) + " bp");

  std::vector<std::string> tainted;
  for (const auto& name : proposal.observed.tainted_arguments)
    if (std::find(facts.tool->sensitive_arguments.begin(), facts.tool->sensitive_arguments.end(), name) !=
        facts.tool->sensitive_arguments.end())
      tainted.push_back(name);
  if (!tainted.empty())
    add(findings, "floor.untrusted_flow", "untrusted data flows into the sensitive argument(s) " + join(tainted));
  return findings;
}

} // namespace cordon::approvald

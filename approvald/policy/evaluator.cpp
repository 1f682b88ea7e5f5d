#include "approvald/policy/evaluator.h"

#include <algorithm>

#include "approvald/policy/condition.h"
#include "approvald/policy/glob.h"
#include "approvald/policy/hard_floor.h"
#include "common/decision/decision_packet.h"

namespace cordon::approvald {
namespace {

// A value inside `document` by a dotted path ("a.b.0"); nullopt when absent.
std::optional<Json> at_path(const Json& document, std::string_view path) {
  const Json* node = &document;
  while (!path.empty()) {
    const auto dot = path.find('.');
    const std::string key(path.substr(0, dot));
    path = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
    if (node->is_object()) {
      const auto it = node->find(key);
      if (it == node->end()) return std::nullopt;
      node = &*it;
    } else if (node->is_array() && !key.empty() && key.find_first_not_of("0123456789") == std::string::npos &&
               key.size() < 10 && std::stoul(key) < node->size()) {
      node = &(*node)[std::stoul(key)];
    } else {
      return std::nullopt;
    }
  }
  if (node->is_null()) return std::nullopt;
  return *node;
}

FieldLookup lookup_for(const Proposal& proposal, const Facts& facts, std::int64_t confidence, TenantMode mode) {
  return [&proposal, &facts, confidence, mode](std::string_view field) -> std::optional<Json> {
    if (field.starts_with("arguments.")) return at_path(proposal.arguments, field.substr(10));
    if (field.starts_with("target.")) return proposal.target.is_object() ? at_path(proposal.target, field.substr(7)) : std::nullopt;
    if (field == "agent") return Json(proposal.agent);
    if (field == "tool") return Json(proposal.tool);
    if (field == "run_id") return Json(proposal.run_id);
    if (field == "confidence_bp") return Json(confidence);
    if (field == "mode") return Json(mode_name(mode));
    if (field == "citations") return Json(proposal.citations);
    if (field == "resources") return Json(facts.resources);
    if (field == "tags") return Json(facts.tags);
    if (field == "tool.irreversible") return Json(facts.tool->irreversible);
    if (field == "sql.read_only") return facts.sql_read_only ? std::optional<Json>(*facts.sql_read_only) : std::nullopt;
    if (field == "sql.relations") return facts.sql_read_only ? std::optional<Json>(facts.sql_relations) : std::nullopt;
    if (field == "observed.untrusted_spans") return Json(proposal.observed.untrusted_spans);
    if (field == "observed.injection_flags") return Json(proposal.observed.injection_flags);
    if (field == "observed.tainted_arguments") return Json(proposal.observed.tainted_arguments);
    return std::nullopt;
  };
}

bool rule_matches(const Rule& rule, const Proposal& proposal, const FieldLookup& lookup) {
  const bool tool = std::any_of(rule.tools.begin(), rule.tools.end(),
                                [&](const std::string& pattern) { return glob_match(pattern, proposal.tool); });
  if (!tool) return false;
  return std::all_of(rule.conditions.begin(), rule.conditions.end(), [&](const Condition& condition) {
    return condition_holds(condition, lookup, proposal.observed.tainted_arguments);
  });
}

void add_requirement(std::vector<ApprovalRequirement>& approvals, const ApprovalRequirement& requirement) {
  if (std::find(approvals.begin(), approvals.end(), requirement) == approvals.end()) approvals.push_back(requirement);
}

} // namespace

std::string_view mode_name(TenantMode mode) { return mode == TenantMode::live ? "live" : "dry_run"; }

std::string_view packet_verdict(Effect verdict) {
  switch (verdict) {
  case Effect::allow: return "allow";
  case Effect::require_approval: return "pending";
  case Effect::deny: return "deny";
  }
  return "deny";
}

Result<Evaluation> evaluate(const Constitution& constitution, const Proposal& proposal, std::string_view tenant,
                            TenantMode mode) {
  Evaluation evaluation;
  evaluation.mode = mode;
  evaluation.policy_version = constitution.version;
  evaluation.action_digest = CORDON_TRY(decision::action_digest(tenant, proposal.action()));
  evaluation.facts = CORDON_TRY(derive_facts(proposal, constitution));
  evaluation.confidence_bp = effective_confidence(proposal);
  const FieldLookup lookup = lookup_for(proposal, evaluation.facts, evaluation.confidence_bp, mode);

  std::vector<const Rule*> matched;
  for (const Rule& rule : constitution.rules) {
    if (!rule_matches(rule, proposal, lookup)) continue;
    matched.push_back(&rule);
    evaluation.matched_rules.push_back(rule.id);
  }
  Effect verdict = Effect::require_approval;
  if (!matched.empty()) {
    verdict = Effect::allow;
    for (const Rule* rule : matched) verdict = std::max(verdict, rule->effect);
    for (const Rule* rule : matched) {
      if (rule->effect != verdict) continue;
      evaluation.rules.push_back(rule->id);
      evaluation.reasons.push_back(rule->id + ": " + rule->description);
      if (verdict == Effect::require_approval) add_requirement(evaluation.approvals, rule->approval.value_or(ApprovalRequirement{}));
    }
  } else {
    evaluation.rules.push_back("constitution.no_match");
    evaluation.reasons.push_back("constitution.no_match: no rule matches this call, so a human decides");
  }

  for (FloorFinding& finding : apply_floor(proposal, evaluation.facts, constitution.confidence_threshold_bp)) {
    verdict = std::max(verdict, finding.effect);
    evaluation.rules.push_back(finding.id);
    evaluation.reasons.push_back(finding.id + ": " + finding.reason);
  }
  if (verdict == Effect::require_approval && evaluation.approvals.empty()) evaluation.approvals.push_back({});
  if (verdict != Effect::require_approval) evaluation.approvals.clear();
  if (mode == TenantMode::dry_run) {
    evaluation.rules.push_back("floor.dry_run");
    evaluation.reasons.push_back("floor.dry_run: the tenant is in its dry-run period; the call is simulated");
  }
  evaluation.verdict = verdict;
  return evaluation;
}

} // namespace cordon::approvald

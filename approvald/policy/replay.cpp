#include "approvald/policy/replay.h"

#include <istream>
#include <set>

#include "approvald/policy/evaluator.h"
#include "approvald/policy/proposal.h"

namespace cordon::approvald {
namespace {

constexpr std::size_t max_line_bytes = 1 << 20;

std::vector<std::string> strings_of(const Json& list) {
  std::vector<std::string> out;
  if (!list.is_array()) return out;
  for (const Json& item : list)
    if (item.is_string()) out.push_back(item.get<std::string>());
  return out;
}

// The policy's verdict as recorded; entries written before `policy_verdict` existed say the
// packet's verdict only, where pending stands for require_approval.
std::string recorded_verdict(const Json& data) {
  if (data.contains("policy_verdict") && data["policy_verdict"].is_string()) return data["policy_verdict"];
  const std::string verdict = data.value("verdict", "");
  return verdict == "pending" ? "require_approval" : verdict;
}

} // namespace

Result<ReplayOutcome> replay_decisions(std::istream& entries, const Constitution& constitution) {
  ReplayOutcome outcome;
  std::set<std::string, std::less<>> replayed; // decision ids
  std::set<std::string, std::less<>> withdrawn;
  std::string line;
  std::size_t number = 0;
  while (std::getline(entries, line)) {
    ++number;
    if (line.empty()) continue;
    const std::string where = "line " + std::to_string(number);
    auto entry = parse_json(line, JsonLimits{.max_bytes = max_line_bytes, .max_depth = 64});
    if (!entry || !entry->is_object()) return fail(Errc::invalid_argument, where + " is not a JSON ledger entry");
    const std::string kind = entry->value("kind", "");
    if (kind == "decision.withdrawn") {
      const Json data = entry->value("data", Json::object());
      if (data.is_object() && data.contains("decision_id") && data["decision_id"].is_string())
        withdrawn.insert(data["decision_id"].get<std::string>());
      continue;
    }
    if (kind != "decision.issued") continue;
    const Json data = entry->value("data", Json::object());
    if (!data.contains("proposal")) return fail(Errc::invalid_argument, where + ": decision.issued without its proposal");
    ++outcome.decisions;
    ReplayChange change;
    change.index = entry->value("index", std::uint64_t{0});
    change.decision_id = data.value("decision_id", "");
    replayed.insert(change.decision_id);
    change.tool = data["proposal"].value("tool", "");
    change.was_verdict = recorded_verdict(data);
    change.was_rules = strings_of(data.value("rules", Json::array()));
    change.was_policy_version = data.value("policy_version", "");
    const TenantMode mode = data.value("mode", "live") == "dry_run" ? TenantMode::dry_run : TenantMode::live;
    auto proposal = parse_proposal(data["proposal"]);
    auto evaluation = proposal ? evaluate(constitution, *proposal, entry->value("tenant", ""), mode)
                               : Result<Evaluation>(tl::unexpected(proposal.error()));
    if (evaluation) {
      change.now_verdict = std::string(effect_name(evaluation->verdict));
      change.now_rules = evaluation->rules;
    } else {
      change.now_verdict = "error: " + evaluation.error().message;
    }
    if (change.now_verdict == change.was_verdict && change.now_rules == change.was_rules) ++outcome.unchanged;
    else outcome.changes.push_back(std::move(change));
  }
  // A withdrawal follows its decision in the ledger, so they are matched once all is read.
  for (const auto& id : withdrawn) outcome.withdrawn += replayed.count(id);
  for (auto& change : outcome.changes) change.withdrawn = withdrawn.count(change.decision_id) != 0;
  return outcome;
}

} // namespace cordon::approvald

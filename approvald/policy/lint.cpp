#include "approvald/policy/lint.h"

#include "approvald/policy/glob.h"
#include "common/tools/tool_catalog.h"

namespace cordon::approvald {
namespace {

std::vector<const tools::ToolSpec*> tools_of(const Rule& rule) {
  std::vector<const tools::ToolSpec*> matched;
  for (const auto& tool : tools::builtin_tools())
    for (const auto& pattern : rule.tools)
      if (glob_match(pattern, tool.name)) {
        matched.push_back(&tool);
        break;
      }
  return matched;
}

bool takes_argument(const tools::ToolSpec& tool, const std::string& name) {
  const Json& properties = tool.input_schema["properties"];
  return properties.is_object() && properties.contains(name);
}

// "arguments.headers.accept" -> "headers"; "" for other fields.
std::string top_argument(const std::string& field) {
  if (!field.starts_with("arguments.")) return {};
  const std::string rest = field.substr(10);
  return rest.substr(0, rest.find('.'));
}

void check_arguments(const Rule& rule, const std::vector<const tools::ToolSpec*>& matched, std::vector<LintFinding>& out) {
  const auto no_tool_takes = [&](const std::string& name) {
    for (const auto* tool : matched)
      if (takes_argument(*tool, name)) return false;
    return true;
  };
  for (const Condition& condition : rule.conditions) {
    if (condition.op == Operator::no_untrusted_data_in) {
      for (const Json& name : condition.values)
        if (no_tool_takes(name.get<std::string>()))
          out.push_back({rule.id, "no_untrusted_data_in names \"" + name.get<std::string>() + "\", which none of its tools takes"});
      continue;
    }
    const std::string argument = top_argument(condition.field);
    if (!argument.empty() && no_tool_takes(argument))
      out.push_back({rule.id, "the condition on " + condition.field + " can never hold: none of its tools takes \"" + argument + "\""});
  }
  if (!rule.approval) return;
  for (const auto& field : rule.approval->bind) {
    const std::string argument = top_argument(field);
    if (!argument.empty() && no_tool_takes(argument))
      out.push_back({rule.id, "approval.bind names " + field + ", which none of its tools takes"});
  }
}

void check_floor(const Rule& rule, const std::vector<const tools::ToolSpec*>& matched, std::vector<LintFinding>& out) {
  if (rule.effect != Effect::allow) return;
  for (const auto* tool : matched) {
    if (tool->irreversible)
      out.push_back({rule.id, "allows " + tool->name + ", which is irreversible: floor.irreversible holds it for a human anyway"});
    if (tool->floor == tools::FloorClass::credentials || tool->floor == tools::FloorClass::branch_delete)
      out.push_back({rule.id, "allows " + tool->name + ", which the hard floor always denies to agents"});
  }
  if (rule.conditions.empty())
    for (const auto& pattern : rule.tools)
      if (pattern == "*" || pattern == "**") out.push_back({rule.id, "allows every call of every tool; only the hard floor stands in the way"});
}

} // namespace

std::vector<LintFinding> lint_constitution(const Constitution& constitution) {
  std::vector<LintFinding> findings;
  for (const Rule& rule : constitution.rules) {
    const auto matched = tools_of(rule);
    if (matched.empty()) {
      findings.push_back({rule.id, "its tools match no known tool, so it never applies"});
      continue;
    }
    check_arguments(rule, matched, findings);
    check_floor(rule, matched, findings);
  }
  return findings;
}

} // namespace cordon::approvald

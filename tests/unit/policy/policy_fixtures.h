#pragma once

#include <string>
#include <vector>

#include "approvald/policy/constitution.h"
#include "approvald/policy/evaluator.h"
#include "approvald/policy/proposal.h"
#include "common/tools/tool_catalog.h"

namespace cordon::approvald::testing {

// A constitution of one file, which must parse.
inline Constitution constitution_of(const std::string& text) {
  const std::vector<ConstitutionFile> files{{"00-test.toml", text}};
  auto parsed = parse_constitution(files);
  if (!parsed) throw std::runtime_error(parsed.error().message);
  return std::move(*parsed);
}

inline Error constitution_error(const std::string& text) {
  const std::vector<ConstitutionFile> files{{"00-test.toml", text}};
  auto parsed = parse_constitution(files);
  if (parsed) throw std::runtime_error("the constitution parsed");
  return parsed.error();
}

// A proposal of `tool` with `arguments`, the catalog's pin and a confident agent.
inline Proposal proposal_of(const std::string& tool, Json arguments, std::int64_t confidence_bp = 9000) {
  Proposal proposal;
  proposal.run_id = "r-1";
  proposal.agent = "support-bot";
  proposal.tool = tool;
  const auto* spec = tools::find_tool(tool);
  proposal.tool_pin = spec ? tools::tool_pin(*spec) : "sha256:00";
  proposal.arguments = std::move(arguments);
  proposal.confidence_bp = confidence_bp;
  return proposal;
}

inline Evaluation evaluated(const Constitution& constitution, const Proposal& proposal,
                            TenantMode mode = TenantMode::live) {
  auto evaluation = evaluate(constitution, proposal, "acme", mode);
  if (!evaluation) throw std::runtime_error(evaluation.error().message);
  return std::move(*evaluation);
}

inline bool cites(const Evaluation& evaluation, const std::string& id) {
  for (const auto& rule : evaluation.rules)
    if (rule == id) return true;
  return false;
}

// Allows every call outright: what the floor must withstand.
inline const char* allow_everything = R"(
[[rule]]
id = "allow-all"
description = "Everything is allowed."
effect = "allow"
tools = ["*"]
)";

} // namespace cordon::approvald::testing

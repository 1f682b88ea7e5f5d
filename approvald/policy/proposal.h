#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/json.h"

namespace cordon::approvald {

// What agentd saw of the run before this call (DESIGN.md §6.3).
struct Observed {
  std::int64_t untrusted_spans = 0;
  std::vector<std::string> injection_flags;   // scanner hits in this run ("role_shift", …)
  std::vector<std::string> tainted_arguments; // arguments whose value came from untrusted content
};

// A proposed tool call (DESIGN.md §5.1), as agentd sends it to POST /v1/decisions.
struct Proposal {
  std::string run_id;
  std::string agent;
  std::string tool;
  std::string tool_pin;
  Json arguments = Json::object();
  Json target = nullptr; // null or an object of strings ({"repo", "head"})
  std::int64_t confidence_bp = 0; // 0..10000
  std::string rationale;
  std::vector<std::string> citations;
  Observed observed;

  // {"tool", "tool_pin", "arguments", "target"}: what the action digest covers.
  Json action() const;
};

// Reads a proposal strictly: required members run_id, agent, tool, tool_pin, arguments,
// confidence_bp; optional target, rationale, citations, observed; nothing else. Strings are
// bounded, confidence is an integer 0..10000, no floating-point number anywhere (digested
// objects carry none). Errc::invalid_argument or Errc::unknown_field, naming the member.
Result<Proposal> parse_proposal(const Json& body);

// The proposal as JSON again (for the audit record and the approval page).
Json proposal_json(const Proposal& proposal);

} // namespace cordon::approvald

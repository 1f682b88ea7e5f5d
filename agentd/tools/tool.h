#pragma once

#include <string>

#include "common/error.h"
#include "common/json.h"
#include "common/tools/tool_catalog.h"

namespace cordon::agentd {

// What a tool produced, before agentd scans, redacts and bounds it for the agent.
struct ToolOutput {
  std::string text;                 // the text content the agent sees
  Json structured = nullptr;        // structuredContent, or null
  bool untrusted = false;           // content from outside (files, rows, HTTP bodies): scanned and kept as a span
  Json audit = Json::object();      // a summary for tool.executed: sizes, counts, never the content itself
};

// One built-in tool as agentd executes it (DESIGN.md §6.2). Its definition (schema,
// irreversible flag, sensitive arguments) is the catalog's, so the gate and the executor agree.
// Arguments reach run() and simulate() only after they matched the schema and the decision
// allowed exactly them.
class Tool {
public:
  virtual ~Tool() = default;
  virtual const tools::ToolSpec& spec() const = 0;
  // Does it. An error is the tool's failure (file not found, database refused), answered as
  // an isError result naming it; nothing of a failed call is left half-done.
  virtual Result<ToolOutput> run(const Json& arguments, const std::string& run_id) = 0;
  // Dry-run mode: what run() would do, without doing it.
  virtual Result<ToolOutput> simulate(const Json& arguments, const std::string& run_id) = 0;

  // The secret this call needs ("" for none), which agentd leases from secretsd with the
  // call's decision packet and hands to run_with_credential(); the value never reaches the
  // agent (agentd redacts it from every output) and is released after the call.
  virtual Result<std::string> credential_needed(const Json&) const { return std::string(); }
  virtual Result<ToolOutput> run_with_credential(const Json& arguments, const std::string& run_id,
                                                 std::string_view) {
    return run(arguments, run_id);
  }
};

} // namespace cordon::agentd

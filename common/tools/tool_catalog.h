#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"

// The tools Cordon knows (DESIGN.md §6.2): their definitions, which agentd lists and executes
// and approvald's hard floor judges. One table in code, so that the gate and the executor can
// never disagree about what a tool is.
namespace cordon::tools {

// What the hard floor (DESIGN.md §5.3) needs to know about a tool beyond its flags.
enum class FloorClass {
  none,
  sql,              // its `sql` argument is classified; anything not read-only needs a human
  http,             // agent-supplied credential headers are transmitting credentials (denied)
  credentials,      // generates, rotates or transmits credentials (denied to agents)
  force_push,       // a push; with `force` it is denied
  branch_delete,    // deleting a branch (denied to agents)
  email,            // sending mail; to more than a handful of recipients it is bulk (denied)
};

struct ToolSpec {
  std::string name;                             // "sql.query"
  std::string description;
  Json input_schema;                            // JSON Schema (2020-12) of `arguments`
  bool irreversible = false;                    // the floor asks a human before it runs
  std::vector<std::string> sensitive_arguments; // checked for untrusted provenance (§6.3)
  FloorClass floor = FloorClass::none;
};

// Every built-in tool, sorted by name.
std::span<const ToolSpec> builtin_tools();

// The tool named `name`, or nullptr.
const ToolSpec* find_tool(std::string_view name);

// The definition a tool pin covers: {"name", "description", "input_schema", "irreversible",
// "sensitive_arguments"}.
Json tool_definition(const ToolSpec& tool);

// "sha256:" + hex(SHA-256(JCS(tool_definition(tool)))). Any change to the definition is a new
// pin, and so a new action digest for every call of the tool.
std::string tool_pin(const ToolSpec& tool);

} // namespace cordon::tools

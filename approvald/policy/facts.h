#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "approvald/policy/constitution.h"
#include "approvald/policy/proposal.h"
#include "common/error.h"
#include "common/tools/tool_catalog.h"

namespace cordon::approvald {

// What approvald works out about a proposed call by itself, from the tool catalog, PostgreSQL's
// parser and the constitution's resource tags, rather than taking agentd's word for it.
struct Facts {
  const tools::ToolSpec* tool = nullptr;
  std::optional<bool> sql_read_only; // for tools of FloorClass::sql
  std::vector<std::string> sql_relations;
  std::vector<std::string> sql_reasons; // why it is not read-only
  // Resources the call touches: "sql:<database>", "sql:<database>/<relation>", "http:<host>",
  // "fs:<path>", "git:<repo>", "git:<repo>/<branch>", "mail:<address>".
  std::vector<std::string> resources;
  std::vector<std::string> tags;               // of those resources, sorted, unique
  std::vector<std::string> credential_headers; // http: credential headers the agent set itself
  std::size_t recipients = 0;                  // email: to + cc
  bool force = false;                          // a forced push
};

// Errc::invalid_argument for an unknown tool, a tool_pin that is not the catalog's, SQL the
// parser refuses, or arguments the floor needs that are missing or of the wrong type.
Result<Facts> derive_facts(const Proposal& proposal, const Constitution& constitution);

} // namespace cordon::approvald

#pragma once

#include <iosfwd>
#include <string>

#include "common/error.h"

namespace cordon::cli {

// `cordonctl runs register --agent A --task T` and `cordonctl runs show ID`, on agentd's socket
// (admin: root). A run is what an agent's MCP session acts for: the operator states the trusted
// task here, never the agent. `register` prints the new run's id alone on its first line, so a
// script can take it; `show` prints the run as agentd holds it.
struct RunsCommand {
  enum class Action { register_run, show };
  Action action = Action::show;
  std::string socket = "/run/cordon/agentd.sock";
  std::string agent;
  std::string task;
  std::string id;
};

Result<void> run_runs_command(const RunsCommand& command, std::ostream& out);

} // namespace cordon::cli

#pragma once

#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/program.h"

namespace cordon::cli {

// `cordonctl status`: one screen for the operator. Each daemon's unit state (systemctl) and its
// own answer on its socket; the tenant's mode, the KEK's custody, the ledger's size and last
// signed checkpoint, pending approvals, agentd's MCP sessions. Fails (after printing all of it)
// when any daemon does not answer, so a script can tell.
struct StatusCommand {
  std::string auditd_socket = "/run/cordon/auditd.sock";
  std::string secretsd_socket = "/run/cordon/secretsd.sock";
  std::string approvald_socket = "/run/cordon/approvald.sock";
  std::string agentd_socket = "/run/cordon/agentd.sock";
  std::function<Result<ProgramOutput>(const std::vector<std::string>&)> run = run_program;
};

Result<void> run_status_command(const StatusCommand& command, std::ostream& out);

} // namespace cordon::cli

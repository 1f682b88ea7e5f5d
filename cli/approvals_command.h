#pragma once

#include <iosfwd>
#include <string>

#include "common/error.h"

namespace cordon::cli {

// `cordonctl approvals`: the pending approvals on approvald's socket (admin), oldest first: id,
// agent, tool, what it needs and who answered, the reasons it was held, and when it closes.
// Approving happens only on the one-time links the approvers got, never here.
struct ApprovalsCommand {
  std::string socket = "/run/cordon/approvald.sock";
};

Result<void> run_approvals_command(const ApprovalsCommand& command, std::ostream& out);

} // namespace cordon::cli

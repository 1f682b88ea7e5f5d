#pragma once

#include <iosfwd>
#include <string>

#include "common/error.h"

namespace cordon::cli {

// `cordonctl policy reload|status`: approvald's constitution on its Unix socket (reload is root
// only; approvald checks the caller's uid). A constitution that does not parse is refused and the
// one in force stays; the refusal names the file and the rule.
struct PolicyCommand {
  enum class Action { reload, status };
  Action action = Action::status;
  std::string socket = "/run/cordon/approvald.sock";
};

Result<void> run_policy_command(const PolicyCommand& command, std::ostream& out);

} // namespace cordon::cli

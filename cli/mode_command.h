#pragma once

#include <iosfwd>
#include <string>

#include "common/error.h"

namespace cordon::cli {

// `cordonctl mode [live]`: the tenant's mode on approvald's socket. `mode live` (root only) asks
// to end the dry-run period; it opens an approval, and only once approvers grant it does the
// tenant go live. Plain `mode` prints the mode and until when the dry-run period runs.
struct ModeCommand {
  std::string socket = "/run/cordon/approvald.sock";
  std::string requested; // "live", or empty to show the mode
};

Result<void> run_mode_command(const ModeCommand& command, std::ostream& out);

} // namespace cordon::cli

#pragma once

#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"

namespace cordon::cli {

// `cordonctl secrets put|rotate|delete|list`: secretsd's admin API on its Unix socket (root only;
// secretsd checks the caller's uid). Values are read from a file or from standard input, never
// from the command line, where every local user could read them in /proc.
struct SecretsCommand {
  enum class Action { put, rotate, remove, list };
  Action action = Action::list;
  std::string socket = "/run/cordon/secretsd.sock";
  std::string name;
  std::vector<std::string> tools;     // put: required; rotate: replaces the scope when given
  std::optional<std::string> from_file; // otherwise standard input
  bool keep_newline = false;          // stdin: keep one trailing newline (dropped by default)
};

// Runs the command, printing what secretsd answered (metadata, never a value) to `out`.
// Errors name what failed; secretsd's refusals carry its problem detail.
Result<void> run_secrets_command(const SecretsCommand& command, std::istream& in, std::ostream& out);

} // namespace cordon::cli

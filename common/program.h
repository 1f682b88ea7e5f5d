#pragma once

#include <string>
#include <vector>

#include "common/error.h"

namespace cordon {

struct ProgramOutput {
  int exit_status = -1; // the program's exit status; 128 + N when signal N ended it
  std::string output;   // its stdout and stderr, interleaved as written
};

// Runs a program found on PATH with `argv` (argv[0] is its name), without a shell, and waits for
// it. Fails only when it cannot be started or waited for; a non-zero exit is an answer, not an
// error. Its stdin is /dev/null.
Result<ProgramOutput> run_program(const std::vector<std::string>& argv);

} // namespace cordon

#pragma once

#include <csignal>
#include <functional>
#include <string>
#include <vector>

#include <sys/types.h>

#include "common/error.h"

namespace cordon::testing {

// Starts `binary` with `arguments` as a child that dies with the test (PR_SET_PDEATHSIG), with
// stdout and stderr appended to `log_path` and no signals blocked. `environment` entries
// ("NAME=value") are added to the child's environment.
Result<pid_t> spawn_child(const std::string& binary, const std::vector<std::string>& arguments,
                          const std::string& log_path, const std::vector<std::string>& environment = {});

// Sends `signal` and waits (up to 30 s, then SIGKILL) for the exit; returns the wait status.
int stop_child(pid_t pid, int signal);

// Waits up to 30 s for `ready()` to hold for the child `pid` (a daemon named `name` starting up),
// polling every 20 ms. If the child exits first, `pid` becomes -1 and the error quotes
// `log_tail()`; if time runs out, the child is killed and `pid` becomes -1 too.
Result<void> await_child_ready(pid_t& pid, const std::string& name, const std::function<bool()>& ready,
                               const std::function<std::string()>& log_tail);

// True (and the status stored) if the child has exited.
bool child_exited(pid_t pid, int* status = nullptr);

} // namespace cordon::testing

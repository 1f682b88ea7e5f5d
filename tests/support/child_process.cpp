#include "tests/support/child_process.h"

#include <chrono>
#include <thread>

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace cordon::testing {

Result<pid_t> spawn_child(const std::string& binary, const std::vector<std::string>& arguments,
                          const std::string& log_path, const std::vector<std::string>& environment) {
  // Everything the child needs is built before fork: a multi-threaded parent's child may only
  // make async-signal-safe calls, so no allocation after it.
  std::vector<std::string> argv_storage{binary};
  argv_storage.insert(argv_storage.end(), arguments.begin(), arguments.end());
  std::vector<char*> argv;
  for (auto& argument : argv_storage) argv.push_back(argument.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_storage;
  for (char** entry = environ; *entry != nullptr; ++entry) env_storage.emplace_back(*entry);
  env_storage.insert(env_storage.end(), environment.begin(), environment.end());
  std::vector<char*> envp;
  for (auto& entry : env_storage) envp.push_back(entry.data());
  envp.push_back(nullptr);
  sigset_t none;
  sigemptyset(&none);

  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) return fail(Errc::io_error, "fork failed");
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execve(binary.c_str(), argv.data(), envp.data());
    ::_exit(127);
  }
  return pid;
}

int stop_child(pid_t pid, int signal) {
  if (pid <= 0) return -1;
  ::kill(pid, signal);
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return status;
}

Result<void> await_child_ready(pid_t& pid, const std::string& name, const std::function<bool()>& ready,
                               const std::function<std::string()>& log_tail) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    if (child_exited(pid)) {
      pid = -1;
      return fail(Errc::unavailable, name + " exited during start-up: " + log_tail());
    }
    if (ready()) return ok();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  stop_child(pid, SIGKILL);
  pid = -1;
  return fail(Errc::unavailable, name + " did not answer within 30 s: " + log_tail());
}

bool child_exited(pid_t pid, int* status) {
  int local = 0;
  if (::waitpid(pid, &local, WNOHANG) != pid) return false;
  if (status) *status = local;
  return true;
}

} // namespace cordon::testing

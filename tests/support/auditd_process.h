#pragma once

#include <csignal>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

#include "common/error.h"

namespace cordon::testing {

struct AuditdProcessOptions {
  std::filesystem::path directory; // config, socket and (by default) state live here
  std::string tenant = "test";
  // Where the ledger lives; default directory/state. A test may point it at a small tmpfs.
  std::filesystem::path state_dir;
  std::uint64_t segment_bytes = std::uint64_t{64} << 20;
  int checkpoint_interval_ms = 10'000;
  bool auditor_https = false; // also serve the auditor HTTPS listener (devstack's throwaway PKI)
  std::vector<std::string> postgres_sinks;                 // DSNs
  std::vector<std::filesystem::path> jsonl_sinks;          // paths
  std::string checkpoint_key = "file";                     // or "secretsd"
  std::string secretsd_socket;                             // with checkpoint_key "secretsd"
  // uid 65534 ("nobody") is mapped to principal "stranger" with no roles, so tests can show a
  // known peer without a role is refused.
};

// cordon-auditd as a child process, configured like devstack (this process's uid holds every
// role), for integration tests. Stops it (SIGTERM, then SIGKILL) on destruction.
class AuditdProcess {
public:
  explicit AuditdProcess(AuditdProcessOptions options);
  ~AuditdProcess();
  AuditdProcess(const AuditdProcess&) = delete;
  AuditdProcess& operator=(const AuditdProcess&) = delete;

  // Starts the daemon and waits until its socket answers (and the HTTPS address is known).
  Result<void> start();
  // Sends `signal` and waits for the exit; returns the wait status.
  int stop(int signal = SIGTERM);
  // SIGKILL without waiting for anything but the exit: a crash.
  void kill() { stop(SIGKILL); }
  bool running() const { return m_pid > 0; }
  pid_t pid() const { return m_pid; }

  std::string socket_path() const;
  std::filesystem::path state_dir() const;
  std::filesystem::path ledger_dir() const { return state_dir() / "ledger"; }
  std::filesystem::path tls_dir() const;
  std::filesystem::path log_path() const;
  std::string config_path() const;
  // "127.0.0.1:port" of the auditor listener (after start()).
  std::string https_address() const;
  std::string log_tail() const;

private:
  Result<void> write_config() const;
  AuditdProcessOptions m_options;
  pid_t m_pid = -1;
};

// Path of a built binary (CORDON_BINARY_DIR/bin/<name>).
std::string binary_path(const std::string& name);
// The repository root (CORDON_SOURCE_DIR).
std::string source_path(const std::string& relative);

// Runs a command line through /bin/sh; returns the exit status and captures stdout+stderr.
struct CommandResult {
  int status = -1;
  std::string output;
};
CommandResult run_command(const std::string& command_line);

} // namespace cordon::testing

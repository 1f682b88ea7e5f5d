#pragma once

#include <csignal>
#include <filesystem>
#include <string>
#include <vector>

#include <sys/types.h>

#include "common/error.h"

namespace cordon::testing {

struct SecretsdProcessOptions {
  std::filesystem::path directory; // config, socket, log and (by default) state live here
  std::string tenant = "test";
  std::string audit_socket;        // a running auditd's socket
  std::filesystem::path state_dir; // default directory/secretsd-state
  std::string custody = "key_file";
  std::string tcti;                // custody "tpm"
  std::vector<unsigned> pcrs;      // custody "tpm"
  int lease_ttl_s = 60;
  // This process's uid holds roles admin, agentd, approvald and auditd; uid 65534 is mapped to
  // "stranger" with no role, and uid 65533 to "agent" with only agentd, so tests can show
  // refusals by role.
};

// cordon-secretsd as a child process, configured like devstack. Stops it on destruction.
class SecretsdProcess {
public:
  explicit SecretsdProcess(SecretsdProcessOptions options);
  ~SecretsdProcess();
  SecretsdProcess(const SecretsdProcess&) = delete;
  SecretsdProcess& operator=(const SecretsdProcess&) = delete;

  // Starts the daemon and waits until its socket answers; fails with the log's tail when it
  // exits instead (as it must when the KEK cannot be recovered or auditd is down).
  Result<void> start();
  int stop(int signal = SIGTERM);
  bool running() const { return m_pid > 0; }

  std::string socket_path() const;
  std::filesystem::path state_dir() const { return m_options.state_dir; }
  std::filesystem::path log_path() const;
  std::string log_tail() const;
  std::string config_path() const;

private:
  Result<void> write_config() const;
  SecretsdProcessOptions m_options;
  pid_t m_pid = -1;
};

} // namespace cordon::testing

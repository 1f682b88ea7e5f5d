#pragma once

#include <csignal>
#include <filesystem>
#include <string>

#include <sys/types.h>

#include "common/error.h"

namespace cordon::testing {

struct ApprovaldProcessOptions {
  std::filesystem::path directory; // config, socket, log and (by default) state live here
  // Where approvald.db lives; default directory/approvald-state. A test may point it at a small tmpfs.
  std::filesystem::path state_dir;
  std::string tenant = "test";
  std::string audit_socket;        // a running auditd's socket
  std::string secretsd_socket;     // a running secretsd's socket
  std::filesystem::path constitution_dir; // default: the shipped services/constitution.d
  int dry_run_days = 0;
  int decision_ttl_s = 120;
  // The approvers' HTTPS listener on 127.0.0.1 with devstack's server certificate (tls_dir);
  // its address is then in web_address().
  bool web = false;
  std::filesystem::path tls_dir;
  // [[approvald.approvers]] as TOML text, [[approvald.webhooks]] likewise, and [approvald.sla].
  std::string approvers_toml;
  std::string webhooks_toml;
  std::string sla_toml;
  // This process's uid holds roles admin and agentd; uid 65534 is mapped to "stranger" with no
  // role, so tests can show refusals by role.
};

// cordon-approvald as a child process, configured like devstack. Stops it on destruction.
class ApprovaldProcess {
public:
  explicit ApprovaldProcess(ApprovaldProcessOptions options);
  ~ApprovaldProcess();
  ApprovaldProcess(const ApprovaldProcess&) = delete;
  ApprovaldProcess& operator=(const ApprovaldProcess&) = delete;

  // Starts the daemon and waits until its socket answers; fails with the log's tail when it
  // exits instead (as it must when the constitution does not parse or auditd is down).
  Result<void> start();
  int stop(int signal = SIGTERM);
  // Sends `signal` without waiting (SIGHUP: reload).
  void signal(int signal) const;
  bool running() const { return m_pid > 0; }

  std::string socket_path() const;
  // "127.0.0.1:port" of the web listener, once started with `web`.
  std::string web_address() const;
  std::filesystem::path log_path() const;
  std::string log_tail() const;

private:
  Result<void> write_config() const;
  std::string config_path() const;
  ApprovaldProcessOptions m_options;
  pid_t m_pid = -1;
};

} // namespace cordon::testing

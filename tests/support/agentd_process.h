#pragma once

#include <csignal>
#include <filesystem>
#include <string>

#include <sys/types.h>

#include "common/error.h"

namespace cordon::testing {

struct AgentdProcessOptions {
  std::filesystem::path directory{}; // config, socket, log, state and workspace live here
  std::string tenant = "test";
  std::string audit_socket{};
  std::string approvald_socket{};
  std::string secretsd_socket{};
  std::filesystem::path markers_file{}; // default: the shipped services/injection-markers.toml
  std::string approval_url{};
  std::size_t max_result_bytes = 256 << 10;
  std::string extra_toml{}; // appended to [agentd] ([[agentd.databases]], [[agentd.http_hosts]])
  // This process's uid holds roles admin, agent, integration and agentd; uid 65534 is mapped to
  // "stranger" with no role.
};

// cordon-agentd as a child process, configured like devstack. Stops it on destruction.
class AgentdProcess {
public:
  explicit AgentdProcess(AgentdProcessOptions options);
  ~AgentdProcess();
  AgentdProcess(const AgentdProcess&) = delete;
  AgentdProcess& operator=(const AgentdProcess&) = delete;

  // Starts the daemon and waits until its socket answers; fails with the log's tail when it
  // exits instead.
  Result<void> start();
  int stop(int signal = SIGTERM);
  bool running() const { return m_pid > 0; }

  std::string socket_path() const;
  std::filesystem::path workspace() const;
  std::filesystem::path log_path() const;
  std::string log_tail() const;

private:
  Result<void> write_config() const;
  std::string config_path() const;
  AgentdProcessOptions m_options;
  pid_t m_pid = -1;
};

} // namespace cordon::testing

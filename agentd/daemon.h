#pragma once

#include <csignal>
#include <memory>

#include "agentd/agentd_config.h"
#include "common/error.h"

namespace cordon::agentd {

// The running agentd: run store, packet check, gate client, tools, the MCP server and the Unix
// socket wired together. start() returns once the socket accepts and systemd was told READY=1.
// It refuses to start (a clear error, nothing served) when the workspace or the injection
// markers cannot be read, or auditd does not take the start-up event.
class Daemon {
public:
  static Result<std::unique_ptr<Daemon>> start(AgentdConfig config);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Serves until SIGTERM or SIGINT, pinging the watchdog.
  void run_until_signal(const sigset_t& signals);

private:
  struct Parts;
  explicit Daemon(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> m_parts;
};

} // namespace cordon::agentd

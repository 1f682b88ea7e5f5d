#pragma once

#include <csignal>
#include <memory>

#include "common/error.h"
#include "secretsd/secretsd_config.h"

namespace cordon::secretsd {

// The running secretsd: KEK custody, vault, key ring, audit client, lease timer and the Unix
// socket wired together. start() returns once the socket accepts and systemd was told READY=1.
// It refuses to start (a clear error, nothing served) when the KEK cannot be recovered or
// auditd does not take the start-up event.
class Daemon {
public:
  static Result<std::unique_ptr<Daemon>> start(SecretsdConfig config);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Serves until SIGTERM or SIGINT (blocked in every thread), pinging the watchdog.
  void run_until_signal(const sigset_t& signals);

private:
  struct Parts;
  explicit Daemon(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> m_parts;
};

} // namespace cordon::secretsd

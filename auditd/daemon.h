#pragma once

#include <csignal>
#include <memory>

#include "auditd/auditd_config.h"
#include "common/error.h"

namespace cordon::auditd {

// The running auditd: state directory, ledger, checkpointer, sinks and listeners wired together.
// start() returns only when the Unix socket (and the auditor listener, if configured) accept
// connections and systemd has been told READY=1.
class Daemon {
public:
  static Result<std::unique_ptr<Daemon>> start(AuditdConfig config);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Serves until one of `signals` (blocked in every thread) arrives, then stops cleanly:
  // listeners first, then the sinks, then the ledger commits what is queued.
  void run_until_signal(const sigset_t& signals);

private:
  struct Parts;
  explicit Daemon(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> m_parts;
};

} // namespace cordon::auditd

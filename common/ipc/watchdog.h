#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>

#include "common/ipc/asio.h"

namespace cordon::ipc {

// Pings the systemd watchdog (WATCHDOG=1) at half of $WATCHDOG_USEC from a timer on the daemon's
// own io_context, so that a wedged event loop stops the pings and systemd restarts the unit. A
// separate pinging thread would keep a hung daemon looking alive.
//
// An optional health check runs before each ping; while it returns false no ping is sent (e.g.
// auditd while its ledger cannot write). Without $WATCHDOG_USEC, start() returns a pinger that
// does nothing.
class WatchdogPinger : public std::enable_shared_from_this<WatchdogPinger> {
public:
  static std::shared_ptr<WatchdogPinger> start(asio::io_context& io,
                                               std::function<bool()> healthy = {});
  // Starts with an explicit interval, regardless of the environment (tests).
  static std::shared_ptr<WatchdogPinger> start(asio::io_context& io,
                                               std::chrono::microseconds interval,
                                               std::function<bool()> healthy = {});

  // Cancels the timer. Thread-safe.
  void stop();
  bool enabled() const { return m_interval.has_value(); }

  WatchdogPinger(asio::io_context& io, std::optional<std::chrono::microseconds> interval,
                 std::function<bool()> healthy);

private:
  void schedule();
  void tick();

  asio::strand<asio::io_context::executor_type> m_strand;
  asio::steady_timer m_timer;
  std::optional<std::chrono::microseconds> m_interval;
  std::function<bool()> m_healthy;
  bool m_stopped = false; // strand only
};

} // namespace cordon::ipc

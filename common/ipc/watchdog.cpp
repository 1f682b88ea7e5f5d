#include "common/ipc/watchdog.h"

#include "common/log.h"
#include "common/systemd.h"

namespace cordon::ipc {

WatchdogPinger::WatchdogPinger(asio::io_context& io,
                               std::optional<std::chrono::microseconds> interval,
                               std::function<bool()> healthy)
    : m_strand(asio::make_strand(io)), m_timer(m_strand), m_interval(interval),
      m_healthy(std::move(healthy)) {}

std::shared_ptr<WatchdogPinger> WatchdogPinger::start(asio::io_context& io,
                                                      std::function<bool()> healthy) {
  auto interval = systemd::watchdog_ping_interval();
  auto pinger = std::make_shared<WatchdogPinger>(io, interval, std::move(healthy));
  if (pinger->enabled()) pinger->schedule();
  return pinger;
}

std::shared_ptr<WatchdogPinger> WatchdogPinger::start(asio::io_context& io,
                                                      std::chrono::microseconds interval,
                                                      std::function<bool()> healthy) {
  auto pinger = std::make_shared<WatchdogPinger>(io, interval, std::move(healthy));
  pinger->schedule();
  return pinger;
}

void WatchdogPinger::schedule() {
  asio::dispatch(m_strand, [self = shared_from_this()] {
    if (self->m_stopped) return;
    self->m_timer.expires_after(*self->m_interval);
    self->m_timer.async_wait([weak = self->weak_from_this()](beast::error_code error) {
      auto pinger = weak.lock();
      if (pinger && !error) pinger->tick();
    });
  });
}

void WatchdogPinger::tick() {
  if (m_stopped) return;
  bool healthy = true;
  if (m_healthy) {
    try {
      healthy = m_healthy();
    } catch (const std::exception& error) {
      log::error("watchdog health check threw", {{"error", error.what()}});
      healthy = false;
    }
  }
  if (healthy) {
    systemd::notify_watchdog();
  } else {
    log::warn("watchdog ping withheld: health check failed");
  }
  schedule();
}

void WatchdogPinger::stop() {
  asio::dispatch(m_strand, [self = shared_from_this()] {
    self->m_stopped = true;
    self->m_timer.cancel();
  });
}

} // namespace cordon::ipc

#include "common/ipc/termination.h"

#include <atomic>
#include <memory>

#include <pthread.h>

#include "common/systemd.h"

namespace cordon::ipc {

sigset_t block_termination_signals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  sigaddset(&signals, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

void wait_for_termination(const sigset_t& signals, asio::io_context& io, const std::function<void()>& on_tick,
                          const std::function<void()>& on_hangup) {
  const auto interval = systemd::watchdog_ping_interval().value_or(std::chrono::seconds(5));
  auto alive = std::make_shared<std::atomic<bool>>(true);
  while (true) {
    timespec timeout{};
    timeout.tv_sec = std::chrono::duration_cast<std::chrono::seconds>(interval).count();
    timeout.tv_nsec = static_cast<long>(std::chrono::duration_cast<std::chrono::nanoseconds>(interval).count() %
                                        1'000'000'000);
    const int signal = ::sigtimedwait(&signals, nullptr, &timeout);
    if (signal == SIGTERM || signal == SIGINT) return;
    if (signal == SIGHUP) {
      if (on_hangup) on_hangup();
      continue;
    }
    if (alive->exchange(false)) systemd::notify_watchdog();
    asio::post(io, [alive] { alive->store(true); });
    if (on_tick) on_tick();
  }
}

} // namespace cordon::ipc

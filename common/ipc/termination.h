#pragma once

#include <csignal>
#include <functional>

#include "common/ipc/asio.h"

namespace cordon::ipc {

// Blocks SIGTERM, SIGINT, SIGHUP and SIGPIPE in the calling thread (call it in main, before any thread
// starts, so every thread inherits the mask) and returns the set, for wait_for_termination.
sigset_t block_termination_signals();

// Waits until SIGTERM or SIGINT arrives. Meanwhile it pings the systemd watchdog, but only once
// the daemon's event loop `io` has run a task posted since the previous ping, so a wedged loop
// stops the pings; and it calls `on_tick` (a STATUS= update, say) at each ping interval. SIGHUP
// calls `on_hangup` (a reload) on this thread, and is otherwise ignored.
void wait_for_termination(const sigset_t& signals, asio::io_context& io, const std::function<void()>& on_tick = {},
                          const std::function<void()>& on_hangup = {});

} // namespace cordon::ipc

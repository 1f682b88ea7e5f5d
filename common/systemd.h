#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

// The systemd service protocol: readiness and status notifications, the watchdog, and sockets
// passed in by socket activation. Every function is a clean no-op when the process does not run
// under systemd (no $NOTIFY_SOCKET, $WATCHDOG_USEC or $LISTEN_FDS), so daemons call them
// unconditionally and still run as plain processes (tools/devstack).
namespace cordon::systemd {

// Sends a raw sd_notify(3) state string, e.g. "READY=1\nSTATUS=serving". Returns true if it was
// delivered, false if not running under a service manager; fails (Errc::io_error) if
// $NOTIFY_SOCKET is set but the message could not be sent.
Result<bool> notify(std::string_view state);

// Convenience wrappers over notify(). A failure to deliver is logged as a warning, never fatal:
// systemd itself acts on a missing READY=1 or watchdog ping (timeout, restart).
void notify_ready();
void notify_status(std::string_view text); // one line; newlines are replaced by spaces
void notify_watchdog();
void notify_stopping();

// Half of $WATCHDOG_USEC when the watchdog is enabled for this process ($WATCHDOG_PID unset or
// ours), which is the ping period systemd recommends; nullopt otherwise. See
// common/ipc/watchdog.h for pinging from a daemon's event loop.
std::optional<std::chrono::microseconds> watchdog_ping_interval();

// A socket passed in by socket activation, with its FileDescriptorName= (systemd's default is
// the socket unit's name; "unknown" when the manager passed no names).
struct ListenFd {
  int fd;
  std::string name;
};

// The sockets passed in ($LISTEN_FDS, $LISTEN_FDNAMES, checked against $LISTEN_PID), from
// SD_LISTEN_FDS_START on, close-on-exec. Empty when not socket-activated. The environment
// variables are unset so that child processes do not see them. Call once, early in main.
Result<std::vector<ListenFd>> listen_fds();

// The descriptor passed under `name`, if exactly one was; nullopt if none. Fails
// (Errc::invalid_argument) if several share the name, since picking one would be a guess.
Result<std::optional<int>> find_listen_fd(const std::vector<ListenFd>& fds, std::string_view name);

} // namespace cordon::systemd

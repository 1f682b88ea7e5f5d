#include "common/systemd.h"

#include <cstdlib>
#include <cstring>

#include <systemd/sd-daemon.h>

#include "common/log.h"

namespace cordon::systemd {

namespace {

void notify_or_warn(const std::string& state, std::string_view what) {
  auto sent = notify(state);
  if (!sent) log::warn("systemd notification failed", {{"state", what}, {"error", sent.error().message}});
}

} // namespace

Result<bool> notify(std::string_view state) {
  std::string text(state);
  int rc = sd_notify(0, text.c_str());
  if (rc < 0) return fail(Errc::io_error, std::string("sd_notify: ") + std::strerror(-rc));
  return rc > 0;
}

void notify_ready() { notify_or_warn("READY=1", "READY=1"); }

void notify_status(std::string_view text) {
  std::string state = "STATUS=";
  for (char c : text) state += (c == '\n' || c == '\r') ? ' ' : c;
  notify_or_warn(state, "STATUS");
}

void notify_watchdog() { notify_or_warn("WATCHDOG=1", "WATCHDOG=1"); }

void notify_stopping() { notify_or_warn("STOPPING=1", "STOPPING=1"); }

std::optional<std::chrono::microseconds> watchdog_ping_interval() {
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return std::nullopt;
  return std::chrono::microseconds(static_cast<std::int64_t>(usec / 2));
}

Result<std::vector<ListenFd>> listen_fds() {
  char** names = nullptr;
  int count = sd_listen_fds_with_names(1, &names);
  if (count < 0) {
    return fail(Errc::invalid_argument,
                std::string("socket activation environment: ") + std::strerror(-count));
  }
  std::vector<ListenFd> fds;
  fds.reserve(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) {
    int fd = SD_LISTEN_FDS_START + i;
    std::string name = (names != nullptr && names[i] != nullptr) ? names[i] : "unknown";
    fds.push_back(ListenFd{fd, std::move(name)});
  }
  if (names != nullptr) {
    for (int i = 0; i < count; ++i) std::free(names[i]);
    std::free(static_cast<void*>(names));
  }
  return fds;
}

Result<std::optional<int>> find_listen_fd(const std::vector<ListenFd>& fds, std::string_view name) {
  std::optional<int> found;
  for (const ListenFd& entry : fds) {
    if (entry.name != name) continue;
    if (found) {
      return fail(Errc::invalid_argument,
                  "several sockets passed under the name \"" + std::string(name) + "\"");
    }
    found = entry.fd;
  }
  return found;
}

} // namespace cordon::systemd

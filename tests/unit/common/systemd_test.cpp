#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>

#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/ipc/watchdog.h"
#include "common/systemd.h"

using namespace cordon;

namespace {

// Sets an environment variable for one scope, restoring the previous state after.
class ScopedEnv {
public:
  ScopedEnv(const char* name, std::optional<std::string> value) : m_name(name) {
    if (const char* old = std::getenv(name)) m_old = old;
    if (value) {
      ::setenv(name, value->c_str(), 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (m_old) {
      ::setenv(m_name, m_old->c_str(), 1);
    } else {
      ::unsetenv(m_name);
    }
  }

private:
  const char* m_name;
  std::optional<std::string> m_old;
};

// A datagram socket standing in for systemd's notification socket.
struct NotifySocket {
  std::string dir;
  std::string path;
  int fd = -1;
  NotifySocket() {
    char pattern[] = "/tmp/cordon-sd-XXXXXX";
    REQUIRE(::mkdtemp(pattern) != nullptr);
    dir = pattern;
    path = dir + "/notify";
    fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strcpy(address.sun_path, path.c_str());
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    timeval limit{2, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  }
  ~NotifySocket() {
    ::close(fd);
    std::filesystem::remove_all(dir);
  }
  std::string receive() const {
    char buffer[512];
    ssize_t count = ::recv(fd, buffer, sizeof buffer, 0);
    return count > 0 ? std::string(buffer, static_cast<std::size_t>(count)) : std::string();
  }
};

} // namespace

TEST_CASE("systemd notifications reach NOTIFY_SOCKET") {
  NotifySocket socket;
  ScopedEnv env("NOTIFY_SOCKET", socket.path);
  systemd::notify_ready();
  CHECK(socket.receive() == "READY=1");
  systemd::notify_status("serving\nnow");
  CHECK(socket.receive() == "STATUS=serving now");
  systemd::notify_watchdog();
  CHECK(socket.receive() == "WATCHDOG=1");
  systemd::notify_stopping();
  CHECK(socket.receive() == "STOPPING=1");
  auto raw = systemd::notify("EXTEND_TIMEOUT_USEC=1000000");
  REQUIRE(raw);
  CHECK(*raw);
  CHECK(socket.receive() == "EXTEND_TIMEOUT_USEC=1000000");
}

TEST_CASE("systemd notifications are no-ops outside systemd") {
  ScopedEnv env("NOTIFY_SOCKET", std::nullopt);
  auto sent = systemd::notify("READY=1");
  REQUIRE(sent);
  CHECK_FALSE(*sent);
  systemd::notify_ready(); // must not fail or log
}

TEST_CASE("the watchdog ping interval is half of WATCHDOG_USEC, for this process only") {
  {
    ScopedEnv usec("WATCHDOG_USEC", "2000000");
    ScopedEnv pid("WATCHDOG_PID", std::to_string(::getpid()));
    auto interval = systemd::watchdog_ping_interval();
    REQUIRE(interval);
    CHECK(*interval == std::chrono::seconds(1));
  }
  {
    ScopedEnv usec("WATCHDOG_USEC", "2000000");
    ScopedEnv pid("WATCHDOG_PID", std::to_string(::getpid() + 1));
    CHECK_FALSE(systemd::watchdog_ping_interval());
  }
  ScopedEnv usec("WATCHDOG_USEC", std::nullopt);
  CHECK_FALSE(systemd::watchdog_ping_interval());
}

TEST_CASE("socket-activated descriptors are found by name") {
  // Descriptors 3 and 4 belong to the test process, so the activation is staged in a child.
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    int first = ::socket(AF_UNIX, SOCK_STREAM, 0);
    int second = ::socket(AF_UNIX, SOCK_STREAM, 0);
    if (::dup2(first, 3) != 3 || ::dup2(second, 4) != 4) ::_exit(10);
    ::setenv("LISTEN_PID", std::to_string(::getpid()).c_str(), 1);
    ::setenv("LISTEN_FDS", "2", 1);
    ::setenv("LISTEN_FDNAMES", "auditd:auditor-https", 1);
    auto fds = systemd::listen_fds();
    if (!fds || fds->size() != 2) ::_exit(11);
    auto https = systemd::find_listen_fd(*fds, "auditor-https");
    if (!https || *https != 4) ::_exit(12);
    auto missing = systemd::find_listen_fd(*fds, "approvald");
    if (!missing || missing->has_value()) ::_exit(13);
    if (std::getenv("LISTEN_FDS") != nullptr) ::_exit(14); // not passed on to children
    ::_exit(0);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("two descriptors under one name are ambiguous") {
  std::vector<systemd::ListenFd> fds{{3, "auditd"}, {4, "auditd"}};
  auto found = systemd::find_listen_fd(fds, "auditd");
  REQUIRE_FALSE(found);
  CHECK(found.error().code == Errc::invalid_argument);
}

TEST_CASE("without socket activation there are no descriptors") {
  ScopedEnv fds("LISTEN_FDS", std::nullopt);
  auto listened = systemd::listen_fds();
  REQUIRE(listened);
  CHECK(listened->empty());
}

TEST_CASE("the watchdog pinger pings from the event loop while healthy") {
  NotifySocket socket;
  ScopedEnv env("NOTIFY_SOCKET", socket.path);
  asio::io_context io;
  std::atomic<bool> healthy{true};
  auto pinger = ipc::WatchdogPinger::start(io, std::chrono::milliseconds(20), [&] { return healthy.load(); });
  REQUIRE(pinger->enabled());
  io.run_for(std::chrono::milliseconds(110));
  CHECK(socket.receive() == "WATCHDOG=1");
  CHECK(socket.receive() == "WATCHDOG=1");

  // Drain, then withhold: no pings while unhealthy.
  timeval quick{0, 50'000};
  ::setsockopt(socket.fd, SOL_SOCKET, SO_RCVTIMEO, &quick, sizeof quick);
  while (!socket.receive().empty()) {
  }
  healthy = false;
  io.restart();
  io.run_for(std::chrono::milliseconds(100));
  CHECK(socket.receive().empty());
  pinger->stop();
  io.restart();
  io.run_for(std::chrono::milliseconds(10));
}

TEST_CASE("the watchdog pinger does nothing without WATCHDOG_USEC") {
  ScopedEnv usec("WATCHDOG_USEC", std::nullopt);
  asio::io_context io;
  auto pinger = ipc::WatchdogPinger::start(io);
  CHECK_FALSE(pinger->enabled());
  CHECK(io.run_for(std::chrono::milliseconds(10)) == 0);
}

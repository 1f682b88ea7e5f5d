#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include <sys/types.h>

#include "common/error.h"
#include "common/ipc/asio.h"
#include "common/ipc/peer.h"
#include "common/ipc/router.h"
#include "common/ipc/server_limits.h"

namespace cordon::ipc {

namespace detail {
template <class Protocol>
class Listener;
}

// HTTP/1.1 over a Unix stream socket (DESIGN.md §4). Every connection is attributed with
// SO_PEERCRED at accept and its uid mapped to a principal and roles by the PeerMap; the Router
// decides per route. Keep-alive, one request at a time per connection; see ServerLimits for the
// bounds.
//
// Runs on the caller's io_context, which any number of threads may run: each connection lives on
// its own strand. A server accepts as soon as it is created (once the io_context runs) until
// stop() or destruction. Destroy it before the io_context.
class UnixServer {
public:
  // Binds `path` (shorter than 108 bytes) and sets its mode to `mode`. A stale socket file left
  // by a dead process is removed; a path where a server still answers fails with Errc::conflict,
  // and a path holding anything but a socket fails without being touched. The file is removed
  // again by stop().
  static Result<std::unique_ptr<UnixServer>> bind(asio::io_context& io, const std::string& path,
                                                  mode_t mode, std::shared_ptr<const Router> router,
                                                  PeerMap peers, ServerLimits limits = {});

  // Serves an already listening Unix stream socket, e.g. one from systemd::listen_fds(). Takes
  // ownership of `fd`; fails (Errc::invalid_argument) if it is not such a socket.
  static Result<std::unique_ptr<UnixServer>> adopt(asio::io_context& io, int fd,
                                                   std::shared_ptr<const Router> router,
                                                   PeerMap peers, ServerLimits limits = {});

  ~UnixServer();
  UnixServer(const UnixServer&) = delete;
  UnixServer& operator=(const UnixServer&) = delete;

  // Stops accepting; idle connections close at once, busy ones after their response is written.
  // Thread-safe; idempotent.
  void stop();

  std::size_t connection_count() const;
  // The bound path; empty for an adopted socket. Unchanged by stop().
  const std::string& path() const { return m_path; }

private:
  using Listener = detail::Listener<asio::local::stream_protocol>;
  UnixServer(std::shared_ptr<Listener> listener, std::string path);
  static Result<std::unique_ptr<UnixServer>> serve(std::shared_ptr<Listener> listener,
                                                   std::string path,
                                                   std::shared_ptr<const Router> router,
                                                   PeerMap peers, ServerLimits limits);

  std::shared_ptr<Listener> m_listener;
  std::string m_path;
  // The socket file we created, removed by stop() only if it is still the same file.
  bool m_owns_file = false;
  dev_t m_file_device = 0;
  ino_t m_file_inode = 0;
};

} // namespace cordon::ipc

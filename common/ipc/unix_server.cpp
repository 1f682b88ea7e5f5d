#include "common/ipc/unix_server.h"

#include <cerrno>
#include <cstring>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/ipc/detail/http_session.h"
#include "common/ipc/detail/listener.h"
#include "common/log.h"

namespace cordon::ipc {

namespace {

using Socket = asio::local::stream_protocol::socket;

class UnixSession final : public detail::HttpSession<Socket> {
public:
  UnixSession(Socket socket, std::shared_ptr<const detail::ServerContext> context,
              std::shared_ptr<detail::SessionRegistry> registry, Peer peer)
      : HttpSession(std::move(socket), std::move(context), std::move(registry)),
        m_peer(std::move(peer)) {}

protected:
  const Peer* authenticate(const Request&, Response&) override { return &m_peer; }
  const Peer* connection_peer() const override { return &m_peer; }

private:
  const Peer m_peer;
};

std::string errno_text(int error) { return std::strerror(error); }

// Removes a socket file no process listens on any more; refuses to touch anything else.
Result<void> remove_stale_socket(const std::string& path) {
  struct stat status {};
  if (::lstat(path.c_str(), &status) != 0) {
    if (errno == ENOENT) return ok();
    return fail(Errc::io_error, path + ": " + errno_text(errno));
  }
  if (!S_ISSOCK(status.st_mode)) {
    return fail(Errc::conflict, path + " exists and is not a socket; not removing it");
  }
  int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (probe < 0) return fail(Errc::io_error, "socket: " + errno_text(errno));
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  int rc = ::connect(probe, reinterpret_cast<const sockaddr*>(&address), sizeof address);
  int connect_errno = errno;
  ::close(probe);
  if (rc == 0) return fail(Errc::conflict, "a server is already listening on " + path);
  if (connect_errno != ECONNREFUSED) {
    return fail(Errc::io_error, "probing " + path + ": " + errno_text(connect_errno));
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return fail(Errc::io_error, "removing stale socket " + path + ": " + errno_text(errno));
  }
  log::info("removed stale socket", {{"path", path}});
  return ok();
}

Result<void> check_listening_unix_socket(int fd) {
  int domain = 0, type = 0, listening = 0;
  socklen_t length = sizeof domain;
  if (::getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &length) != 0) {
    return fail(Errc::invalid_argument, "fd " + std::to_string(fd) + " is not a socket");
  }
  length = sizeof type;
  ::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &length);
  length = sizeof listening;
  ::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &length);
  if (domain != AF_UNIX || type != SOCK_STREAM || listening != 1) {
    return fail(Errc::invalid_argument,
                "fd " + std::to_string(fd) + " is not a listening Unix stream socket");
  }
  return ok();
}

} // namespace

UnixServer::UnixServer(std::shared_ptr<Listener> listener, std::string path)
    : m_listener(std::move(listener)), m_path(std::move(path)) {}

UnixServer::~UnixServer() { stop(); }

Result<std::unique_ptr<UnixServer>> UnixServer::bind(asio::io_context& io, const std::string& path,
                                                     mode_t mode,
                                                     std::shared_ptr<const Router> router,
                                                     PeerMap peers, ServerLimits limits) {
  if (path.empty() || path.size() >= sizeof(sockaddr_un::sun_path)) {
    return fail(Errc::invalid_argument,
                "socket path must be 1 to 107 bytes long: \"" + path + "\"");
  }
  CORDON_TRY_VOID(remove_stale_socket(path));
  auto listener = std::make_shared<Listener>(io, limits.max_connections, path);
  auto& acceptor = listener->acceptor();
  beast::error_code error;
  acceptor.open(asio::local::stream_protocol(), error);
  if (!error) acceptor.bind(asio::local::stream_protocol::endpoint(path), error);
  if (!error) acceptor.listen(asio::socket_base::max_listen_connections, error);
  if (error) return fail(Errc::io_error, "listening on " + path + ": " + error.message());
  // The file exists with the umask's mode for a moment; the directory's permissions and the
  // per-route roles (from SO_PEERCRED) protect that window.
  if (::chmod(path.c_str(), mode) != 0) {
    int chmod_errno = errno;
    ::unlink(path.c_str());
    return fail(Errc::io_error, "chmod " + path + ": " + errno_text(chmod_errno));
  }
  struct stat status {};
  if (::lstat(path.c_str(), &status) != 0) {
    return fail(Errc::io_error, "stat " + path + ": " + errno_text(errno));
  }
  auto server = CORDON_TRY(serve(std::move(listener), path, std::move(router), std::move(peers), limits));
  server->m_owns_file = true;
  server->m_file_device = status.st_dev;
  server->m_file_inode = status.st_ino;
  return server;
}

Result<std::unique_ptr<UnixServer>> UnixServer::adopt(asio::io_context& io, int fd,
                                                      std::shared_ptr<const Router> router,
                                                      PeerMap peers, ServerLimits limits) {
  CORDON_TRY_VOID(check_listening_unix_socket(fd));
  auto listener =
      std::make_shared<Listener>(io, limits.max_connections, "fd " + std::to_string(fd));
  beast::error_code error;
  listener->acceptor().assign(asio::local::stream_protocol(), fd, error);
  if (error) return fail(Errc::io_error, "adopting fd " + std::to_string(fd) + ": " + error.message());
  return serve(std::move(listener), "", std::move(router), std::move(peers), limits);
}

Result<std::unique_ptr<UnixServer>> UnixServer::serve(std::shared_ptr<Listener> listener,
                                                      std::string path,
                                                      std::shared_ptr<const Router> router,
                                                      PeerMap peers, ServerLimits limits) {
  if (!router) return fail(Errc::invalid_argument, "a server needs a router");
  auto context = std::make_shared<const detail::ServerContext>(
      detail::ServerContext{std::move(router), limits});
  auto peer_map = std::make_shared<const PeerMap>(std::move(peers));
  listener->start([context, peer_map](Socket&& socket,
                                      std::shared_ptr<detail::SessionRegistry> registry)
                      -> std::shared_ptr<detail::SessionBase> {
    ucred credentials{};
    socklen_t length = sizeof credentials;
    if (::getsockopt(socket.native_handle(), SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) {
      log::warn("SO_PEERCRED failed; dropping connection", {{"error", errno_text(errno)}});
      return nullptr;
    }
    Peer peer = peer_map->resolve(credentials.uid, credentials.gid, credentials.pid);
    return std::make_shared<UnixSession>(std::move(socket), context, std::move(registry),
                                         std::move(peer));
  });
  return std::unique_ptr<UnixServer>(new UnixServer(std::move(listener), std::move(path)));
}

void UnixServer::stop() {
  if (!m_listener) return;
  m_listener->stop();
  if (!m_owns_file) return;
  m_owns_file = false;
  struct stat status {};
  if (::lstat(m_path.c_str(), &status) == 0 && status.st_dev == m_file_device &&
      status.st_ino == m_file_inode) {
    ::unlink(m_path.c_str());
  }
}

std::size_t UnixServer::connection_count() const { return m_listener->connection_count(); }

} // namespace cordon::ipc

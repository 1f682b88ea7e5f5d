#include "common/ipc/unix_client.h"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/ipc/detail/client_exchange.h"

namespace cordon::ipc {

namespace {

Result<std::unique_ptr<detail::ClientConnection>> connect_unix(const std::string& path,
                                                               detail::Deadline deadline) {
  if (path.empty() || path.size() >= sizeof(sockaddr_un::sun_path)) {
    return fail(Errc::invalid_argument, "socket path must be 1 to 107 bytes long: \"" + path + "\"");
  }
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(Errc::io_error, std::string("socket: ") + std::strerror(errno));
  auto connection = std::make_unique<detail::FdConnection>(fd);
  // A blocking connect waits while the server's backlog is full, bounded by SO_SNDTIMEO.
  auto remaining = std::chrono::duration_cast<std::chrono::microseconds>(
      deadline - std::chrono::steady_clock::now());
  if (remaining.count() <= 0) return fail(Errc::unavailable, "timed out connecting to " + path);
  timeval limit{static_cast<time_t>(remaining.count() / 1'000'000),
                static_cast<suseconds_t>(remaining.count() % 1'000'000)};
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  int rc = 0;
  do {
    rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    int error = errno;
    if (error == EAGAIN || error == EINPROGRESS) {
      return fail(Errc::unavailable, "timed out connecting to " + path);
    }
    return fail(Errc::unavailable, "cannot connect to " + path + ": " + std::strerror(error));
  }
  timeval none{0, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &none, sizeof none);
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  return std::unique_ptr<detail::ClientConnection>(std::move(connection));
}

} // namespace

struct UnixClient::State {
  std::string path;
  ClientOptions options;
  std::unique_ptr<detail::ClientConnection> connection;
  beast::flat_buffer buffer;
  std::string wire;
  std::optional<std::chrono::steady_clock::time_point> last_used;
};

UnixClient::UnixClient(std::string socket_path, ClientOptions options)
    : m_state(std::make_unique<State>()) {
  m_state->path = std::move(socket_path);
  m_state->options = options;
}

UnixClient::~UnixClient() = default;
UnixClient::UnixClient(UnixClient&&) noexcept = default;
UnixClient& UnixClient::operator=(UnixClient&&) noexcept = default;

Result<Response> UnixClient::request(Method method, std::string_view target,
                                     std::string_view body, std::string_view content_type) {
  ClientRequest request;
  request.method = method;
  request.target = target;
  request.body = body;
  if (!content_type.empty()) {
    request.content_type = content_type;
  } else if (!body.empty()) {
    request.content_type = "application/json";
  }
  return this->request(request);
}

Result<Response> UnixClient::request(const ClientRequest& request) {
  State& state = *m_state;
  auto deadline = std::chrono::steady_clock::now() + state.options.timeout;
  CORDON_TRY_VOID(detail::serialize_request(request, "localhost", {}, state.wire));
  return detail::send_request(state.connection, state.buffer, state.wire, request.method,
                              state.options, deadline, [&state](detail::Deadline connect_deadline) {
                                return connect_unix(state.path, connect_deadline);
                              },
                              state.last_used);
}

void UnixClient::close() {
  m_state->connection.reset();
  m_state->buffer.clear();
}

bool UnixClient::connected() const { return m_state->connection != nullptr; }

} // namespace cordon::ipc

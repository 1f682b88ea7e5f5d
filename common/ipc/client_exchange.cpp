#include "common/ipc/detail/client_exchange.h"

#include <cerrno>
#include <charconv>

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/json.h"

namespace cordon::ipc {

Error error_from_response(const Response& response) {
  std::string prefix = "HTTP " + std::to_string(response.status);
  auto document = parse_json(response.body, JsonLimits{1 << 20, 8});
  if (!document || !document->is_object()) {
    return Error{Errc::internal, prefix};
  }
  Errc code = Errc::internal;
  if (auto type = document->find("type"); type != document->end() && type->is_string()) {
    code = errc_from_problem_type(type->get_ref<const std::string&>());
  }
  std::string message = prefix;
  if (auto detail = document->find("detail"); detail != document->end() && detail->is_string()) {
    message += ": " + detail->get<std::string>();
  }
  return Error{code, std::move(message)};
}

namespace detail {

namespace {

// Adapts a ClientConnection with a deadline to Beast's SyncReadStream.
class DeadlineStream {
public:
  DeadlineStream(ClientConnection& connection, Deadline deadline)
      : m_connection(connection), m_deadline(deadline) {}

  template <class MutableBufferSequence>
  std::size_t read_some(const MutableBufferSequence& buffers, beast::error_code& error) {
    for (auto it = asio::buffer_sequence_begin(buffers); it != asio::buffer_sequence_end(buffers);
         ++it) {
      asio::mutable_buffer buffer = *it;
      if (buffer.size() == 0) continue;
      std::size_t count = m_connection.read_some(buffer.data(), buffer.size(), m_deadline, error);
      if (count > 0) m_received_any = true;
      return count;
    }
    error = {};
    return 0;
  }

  template <class MutableBufferSequence>
  std::size_t read_some(const MutableBufferSequence& buffers) {
    beast::error_code error;
    std::size_t count = read_some(buffers, error);
    if (error) throw beast::system_error(error);
    return count;
  }

  bool received_any() const { return m_received_any; }

private:
  ClientConnection& m_connection;
  Deadline m_deadline;
  bool m_received_any = false;
};

bool is_valid_target(std::string_view target) {
  if (target.empty() || target.front() != '/') return false;
  for (char c : target) {
    auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte == 0x7f) return false;
  }
  return true;
}

bool has_body_semantics(Method method) {
  return method == Method::post || method == Method::put || method == Method::patch;
}

Response to_response(beast::http::response<beast::http::string_body>& message) {
  Response response;
  response.status = static_cast<int>(message.result_int());
  for (const auto& field : message) {
    if (equals_ignore_case(field.name_string(), "content-type")) {
      response.content_type.assign(field.value());
    } else {
      response.headers.push_back(Header{std::string(field.name_string()), std::string(field.value())});
    }
  }
  response.body = std::move(message.body());
  return response;
}

} // namespace

bool wait_fd(int fd, short events, Deadline deadline, beast::error_code& error) {
  while (true) {
    auto remaining = std::chrono::ceil<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (remaining.count() <= 0) {
      error = asio::error::timed_out;
      return false;
    }
    pollfd entry{fd, events, 0};
    int rc = ::poll(&entry, 1, static_cast<int>(std::min<std::int64_t>(remaining.count(), INT32_MAX)));
    if (rc > 0) return true;
    if (rc < 0 && errno != EINTR) {
      error = beast::error_code(errno, beast::system_category());
      return false;
    }
  }
}

FdConnection::~FdConnection() {
  if (m_fd >= 0) ::close(m_fd);
}

std::size_t FdConnection::read_some(void* data, std::size_t size, Deadline deadline,
                                    beast::error_code& error) {
  if (m_reply_pending) {
    m_reply_pending = false;
    if (!wait_fd(m_fd, POLLIN, deadline, error)) return 0;
  }
  while (true) {
    ssize_t count = ::recv(m_fd, data, size, 0);
    if (count > 0) {
      error = {};
      return static_cast<std::size_t>(count);
    }
    if (count == 0) {
      error = asio::error::eof;
      return 0;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      error = beast::error_code(errno, beast::system_category());
      return 0;
    }
    if (!wait_fd(m_fd, POLLIN, deadline, error)) return 0;
  }
}

std::size_t FdConnection::write_some(const void* data, std::size_t size, Deadline deadline,
                                     beast::error_code& error) {
  while (true) {
    ssize_t count = ::send(m_fd, data, size, MSG_NOSIGNAL);
    if (count >= 0) {
      m_reply_pending = true;
      error = {};
      return static_cast<std::size_t>(count);
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      error = beast::error_code(errno, beast::system_category());
      return 0;
    }
    if (!wait_fd(m_fd, POLLOUT, deadline, error)) return 0;
  }
}

bool FdConnection::stale() {
  pollfd entry{m_fd, static_cast<short>(POLLIN | POLLRDHUP), 0};
  int rc = ::poll(&entry, 1, 0);
  return rc != 0;
}

Result<void> serialize_request(const ClientRequest& request, std::string_view host,
                               std::string_view authorization, std::string& wire) {
  if (request.method == Method::other) {
    return fail(Errc::invalid_argument, "request method must be a known one");
  }
  if (!is_valid_target(request.target)) {
    return fail(Errc::invalid_argument, "request target must be in origin form without spaces");
  }
  if (!is_valid_header_value(request.content_type) || !is_valid_header_value(authorization) ||
      !is_valid_header_value(host)) {
    return fail(Errc::invalid_argument, "header value with CR, LF or NUL");
  }
  for (const Header& field : request.headers) {
    if (!is_valid_header_name(field.name) || !is_valid_header_value(field.value)) {
      return fail(Errc::invalid_argument, "invalid header field \"" + field.name + "\"");
    }
  }
  char number[24];
  wire.clear();
  wire += method_name(request.method);
  wire += ' ';
  wire += request.target;
  wire += " HTTP/1.1\r\nHost: ";
  wire += host;
  wire += "\r\n";
  if (!authorization.empty()) {
    wire += "Authorization: ";
    wire += authorization;
    wire += "\r\n";
  }
  if (!request.content_type.empty()) {
    wire += "Content-Type: ";
    wire += request.content_type;
    wire += "\r\n";
  }
  if (!request.body.empty() || has_body_semantics(request.method)) {
    wire += "Content-Length: ";
    auto end = std::to_chars(number, number + sizeof number, request.body.size()).ptr;
    wire.append(number, end);
    wire += "\r\n";
  }
  for (const Header& field : request.headers) {
    wire += field.name;
    wire += ": ";
    wire += field.value;
    wire += "\r\n";
  }
  wire += "\r\n";
  wire += request.body;
  return ok();
}

ExchangeResult exchange(ClientConnection& connection, beast::flat_buffer& buffer,
                        std::string_view wire, Method method, const ClientOptions& options,
                        Deadline deadline) {
  namespace http = beast::http;
  ExchangeResult result;
  auto failed = [&](Errc code, std::string message) {
    result.response = fail(code, std::move(message));
    result.keep_alive = false;
    return std::move(result);
  };

  beast::error_code write_error;
  std::size_t written = 0;
  while (written < wire.size()) {
    std::size_t count =
        connection.write_some(wire.data() + written, wire.size() - written, deadline, write_error);
    if (write_error) break;
    written += count;
  }
  if (write_error == asio::error::timed_out) {
    result.timed_out = true;
    return failed(Errc::unavailable, "timed out sending the request");
  }
  // On a write error, a response may still be waiting (a server refusing an oversized body
  // answers and closes before reading it all), so read before giving up.

  DeadlineStream stream(connection, deadline);
  http::response_parser<http::string_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(
      std::min<std::size_t>(options.max_response_header_bytes, UINT32_MAX)));
  parser.body_limit(static_cast<std::uint64_t>(options.max_response_bytes));
  if (method == Method::head) parser.skip(true);
  beast::error_code read_error;
  // Header first: Boost 1.74's response parser loses its body_limit error when the header and
  // the start of the body arrive in one read (it moves to the body state before checking, and
  // the eager loop then clears the error), so the declared length is checked here as well.
  http::read_header(stream, buffer, parser, read_error);
  if (!read_error && parser.content_length() &&
      *parser.content_length() > options.max_response_bytes) {
    read_error = http::error::body_limit;
  }
  if (!read_error && !parser.is_done()) http::read(stream, buffer, parser, read_error);
  if (!read_error && parser.get().body().size() > options.max_response_bytes) {
    read_error = http::error::body_limit;
  }
  result.received_any = stream.received_any();
  if (read_error) {
    if (read_error == asio::error::timed_out) {
      result.timed_out = true;
      return failed(Errc::unavailable, "timed out waiting for the response");
    }
    if (read_error == http::error::body_limit) {
      return failed(Errc::too_large, "response body exceeds " +
                                         std::to_string(options.max_response_bytes) + " bytes");
    }
    if (write_error) return failed(Errc::io_error, "sending the request: " + write_error.message());
    if (!result.received_any) {
      return failed(Errc::io_error, "connection closed before a response: " + read_error.message());
    }
    return failed(Errc::io_error, "reading the response: " + read_error.message());
  }
  result.keep_alive = parser.keep_alive() && !write_error;
  result.response = to_response(parser.get());
  return result;
}

Result<Response> send_request(std::unique_ptr<ClientConnection>& connection,
                              beast::flat_buffer& buffer, std::string_view wire, Method method,
                              const ClientOptions& options, Deadline deadline,
                              const Connector& connect,
                              std::optional<std::chrono::steady_clock::time_point>& last_used) {
  for (int attempt = 0;; ++attempt) {
    bool reused = connection != nullptr;
    // A connection used moments ago is not checked (a poll per request adds up under load); if the
    // server closed it anyway, the retry below covers it.
    auto now = std::chrono::steady_clock::now();
    bool recently_used = last_used && now - *last_used < std::chrono::milliseconds(10);
    if (reused && !recently_used && connection->stale()) {
      connection.reset();
      reused = false;
    }
    if (!connection) {
      buffer.clear();
      connection = CORDON_TRY(connect(deadline));
    }
    ExchangeResult result = exchange(*connection, buffer, wire, method, options, deadline);
    last_used = std::chrono::steady_clock::now();
    if (!result.keep_alive) {
      connection.reset();
      buffer.clear();
    }
    if (!result.response && reused && !result.received_any && !result.timed_out && attempt == 0) {
      continue;
    }
    return std::move(result.response);
  }
}

} // namespace detail

} // namespace cordon::ipc

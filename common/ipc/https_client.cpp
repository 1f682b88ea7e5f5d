#include "common/ipc/https_client.h"

#include <cerrno>
#include <cstring>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "common/ipc/detail/client_exchange.h"

namespace cordon::ipc {

namespace {

std::string openssl_errors() {
  std::string text;
  while (unsigned long code = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof buffer);
    if (!text.empty()) text += "; ";
    text += buffer;
  }
  return text.empty() ? "unknown OpenSSL error" : text;
}

bool is_ip_address(const std::string& host) {
  in6_addr v6{};
  in_addr v4{};
  return ::inet_pton(AF_INET, host.c_str(), &v4) == 1 || ::inet_pton(AF_INET6, host.c_str(), &v6) == 1;
}

struct SslContextDeleter {
  void operator()(SSL_CTX* context) const { SSL_CTX_free(context); }
};
using SslContextPtr = std::unique_ptr<SSL_CTX, SslContextDeleter>;

// TLS over a non-blocking socket, with poll() for the deadlines.
class TlsConnection final : public detail::ClientConnection {
public:
  TlsConnection(int fd, SSL* ssl) : m_fd(fd), m_ssl(ssl) {}
  ~TlsConnection() override {
    if (m_ssl != nullptr) {
      if (m_established) SSL_shutdown(m_ssl); // best effort close_notify; never waits
      SSL_free(m_ssl);
    }
    ::close(m_fd);
  }
  TlsConnection(const TlsConnection&) = delete;
  TlsConnection& operator=(const TlsConnection&) = delete;

  // Runs the handshake to completion or the deadline.
  Result<void> handshake(detail::Deadline deadline) {
    while (true) {
      ERR_clear_error();
      int rc = SSL_connect(m_ssl);
      if (rc == 1) {
        m_established = true;
        return ok();
      }
      beast::error_code error;
      if (!wait_for(SSL_get_error(m_ssl, rc), deadline, error)) {
        long verify = SSL_get_verify_result(m_ssl);
        if (verify != X509_V_OK) {
          return fail(Errc::integrity, std::string("server certificate rejected: ") +
                                           X509_verify_cert_error_string(verify));
        }
        if (error == asio::error::timed_out) return fail(Errc::unavailable, "TLS handshake timed out");
        return fail(Errc::unavailable, "TLS handshake failed: " + (error ? error.message() : openssl_errors()));
      }
    }
  }

  std::size_t read_some(void* data, std::size_t size, detail::Deadline deadline,
                        beast::error_code& error) override {
    while (true) {
      ERR_clear_error();
      std::size_t count = 0;
      int rc = SSL_read_ex(m_ssl, data, size, &count);
      if (rc == 1) {
        error = {};
        return count;
      }
      int code = SSL_get_error(m_ssl, rc);
      if (code == SSL_ERROR_ZERO_RETURN || (code == SSL_ERROR_SYSCALL && errno == 0) ||
          (code == SSL_ERROR_SSL &&
           ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING)) {
        error = asio::error::eof;
        return 0;
      }
      if (!wait_for(code, deadline, error)) return 0;
    }
  }

  std::size_t write_some(const void* data, std::size_t size, detail::Deadline deadline,
                         beast::error_code& error) override {
    while (true) {
      ERR_clear_error();
      std::size_t count = 0;
      int rc = SSL_write_ex(m_ssl, data, size, &count);
      if (rc == 1) {
        error = {};
        return count;
      }
      if (!wait_for(SSL_get_error(m_ssl, rc), deadline, error)) return 0;
    }
  }

  bool stale() override {
    pollfd entry{m_fd, static_cast<short>(POLLIN | POLLRDHUP), 0};
    if (::poll(&entry, 1, 0) == 0) return false;
    // Readable: either the server closed, or it sent a non-application record (a TLS 1.3
    // session ticket) that SSL_peek consumes without producing data.
    ERR_clear_error();
    char byte = 0;
    std::size_t count = 0;
    int rc = SSL_peek_ex(m_ssl, &byte, 1, &count);
    if (rc == 1) return true; // unsolicited application data: out of step
    return SSL_get_error(m_ssl, rc) != SSL_ERROR_WANT_READ;
  }

private:
  // Waits as OpenSSL asks; false (with `error` set) for anything but a retry.
  bool wait_for(int ssl_error, detail::Deadline deadline, beast::error_code& error) {
    switch (ssl_error) {
    case SSL_ERROR_WANT_READ: return detail::wait_fd(m_fd, POLLIN, deadline, error);
    case SSL_ERROR_WANT_WRITE: return detail::wait_fd(m_fd, POLLOUT, deadline, error);
    case SSL_ERROR_SYSCALL:
      error = errno != 0 ? beast::error_code(errno, beast::system_category())
                         : beast::error_code(asio::error::eof);
      return false;
    default:
      error = beast::error_code(static_cast<int>(ERR_get_error()), asio::error::get_ssl_category());
      if (!error) error = asio::error::connection_aborted;
      return false;
    }
  }

  int m_fd;
  SSL* m_ssl;
  bool m_established = false;
};

// A non-blocking TCP connection to the first address of `host` that answers in time.
Result<int> connect_tcp(const std::string& host, std::uint16_t port, detail::Deadline deadline) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* addresses = nullptr;
  std::string service = std::to_string(port);
  int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &addresses);
  if (rc != 0) return fail(Errc::unavailable, "cannot resolve " + host + ": " + ::gai_strerror(rc));
  std::string last_error = "no addresses";
  int connected = -1;
  for (addrinfo* entry = addresses; entry != nullptr && connected < 0; entry = entry->ai_next) {
    int fd = ::socket(entry->ai_family, entry->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                      entry->ai_protocol);
    if (fd < 0) continue;
    if (::connect(fd, entry->ai_addr, entry->ai_addrlen) != 0 && errno != EINPROGRESS) {
      last_error = std::strerror(errno);
      ::close(fd);
      continue;
    }
    beast::error_code error;
    int socket_error = 0;
    socklen_t length = sizeof socket_error;
    if (!detail::wait_fd(fd, POLLOUT, deadline, error)) {
      last_error = error.message();
    } else if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &socket_error, &length) != 0 || socket_error != 0) {
      last_error = std::strerror(socket_error);
    } else {
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      connected = fd;
      break;
    }
    ::close(fd);
  }
  ::freeaddrinfo(addresses);
  if (connected < 0) {
    return fail(Errc::unavailable,
                "cannot connect to " + host + ":" + std::to_string(port) + ": " + last_error);
  }
  return connected;
}

} // namespace

struct HttpsClient::State {
  HttpsClientOptions options;
  SslContextPtr context;
  std::string host_header;
  std::string authorization;
  std::unique_ptr<detail::ClientConnection> connection;
  beast::flat_buffer buffer;
  std::string wire;
  std::optional<std::chrono::steady_clock::time_point> last_used;

  Result<std::unique_ptr<detail::ClientConnection>> connect(detail::Deadline deadline) {
    int fd = CORDON_TRY(connect_tcp(options.host, options.port, deadline));
    SSL* ssl = SSL_new(context.get());
    if (ssl == nullptr) {
      ::close(fd);
      return fail(Errc::crypto, "SSL_new: " + openssl_errors());
    }
    auto fresh = std::make_unique<TlsConnection>(fd, ssl);
    SSL_set_fd(ssl, fd);
    if (is_ip_address(options.host)) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), options.host.c_str());
    } else {
      SSL_set_tlsext_host_name(ssl, options.host.c_str());
      SSL_set1_host(ssl, options.host.c_str());
    }
    CORDON_TRY_VOID(fresh->handshake(deadline));
    return std::unique_ptr<detail::ClientConnection>(std::move(fresh));
  }
};

HttpsClient::HttpsClient(std::unique_ptr<State> state) : m_state(std::move(state)) {}
HttpsClient::~HttpsClient() = default;
HttpsClient::HttpsClient(HttpsClient&&) noexcept = default;
HttpsClient& HttpsClient::operator=(HttpsClient&&) noexcept = default;

Result<HttpsClient> HttpsClient::create(HttpsClientOptions options) {
  if (options.host.empty()) return fail(Errc::invalid_argument, "HTTPS client: no host");
  if (options.ca_file.empty()) return fail(Errc::invalid_argument, "HTTPS client: no CA file to pin");
  if (options.client_cert_file.empty() != options.client_key_file.empty()) {
    return fail(Errc::invalid_argument, "HTTPS client: give a client certificate and its key, or neither");
  }
  ERR_clear_error();
  SslContextPtr context(SSL_CTX_new(TLS_client_method()));
  if (!context) return fail(Errc::crypto, "SSL_CTX_new: " + openssl_errors());
  auto failed = [](std::string what) {
    return fail(Errc::invalid_argument, "HTTPS client: " + what + ": " + openssl_errors());
  };
  SSL_CTX* native = context.get();
  if (SSL_CTX_set_min_proto_version(native, TLS1_3_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(native, TLS1_3_VERSION) != 1) {
    return failed("cannot restrict to TLS 1.3");
  }
  SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION);
  if (SSL_CTX_load_verify_locations(native, options.ca_file.c_str(), nullptr) != 1) {
    return failed("loading CA " + options.ca_file);
  }
  SSL_CTX_set_verify(native, SSL_VERIFY_PEER, nullptr);
  if (!options.client_cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(native, options.client_cert_file.c_str()) != 1) {
      return failed("loading client certificate " + options.client_cert_file);
    }
    if (SSL_CTX_use_PrivateKey_file(native, options.client_key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      return failed("loading client key " + options.client_key_file);
    }
    if (SSL_CTX_check_private_key(native) != 1) return failed("client key does not match certificate");
  }
  if (!is_valid_header_value(options.bearer_token) ||
      options.bearer_token.find(' ') != std::string::npos) {
    return fail(Errc::invalid_argument, "HTTPS client: malformed bearer token");
  }

  auto state = std::make_unique<State>();
  bool v6 = options.host.find(':') != std::string::npos;
  state->host_header = (v6 ? "[" + options.host + "]" : options.host) + ":" + std::to_string(options.port);
  if (!options.bearer_token.empty()) state->authorization = "Bearer " + options.bearer_token;
  state->options = std::move(options);
  state->context = std::move(context);
  return HttpsClient(std::move(state));
}

Result<Response> HttpsClient::request(Method method, std::string_view target,
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

Result<Response> HttpsClient::request(const ClientRequest& request) {
  State& state = *m_state;
  auto deadline = std::chrono::steady_clock::now() + state.options.client.timeout;
  CORDON_TRY_VOID(detail::serialize_request(request, state.host_header, state.authorization, state.wire));
  return detail::send_request(state.connection, state.buffer, state.wire, request.method,
                              state.options.client, deadline,
                              [&state](detail::Deadline connect_deadline) {
                                return state.connect(connect_deadline);
                              },
                              state.last_used);
}

void HttpsClient::close() {
  m_state->connection.reset();
  m_state->buffer.clear();
}

bool HttpsClient::connected() const { return m_state->connection != nullptr; }

} // namespace cordon::ipc

#include "common/ipc/tls_server.h"

#include <charconv>
#include <optional>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/crypto.h"
#include "common/encoding.h"
#include "common/ipc/detail/http_session.h"
#include "common/ipc/detail/listener.h"
#include "common/log.h"

namespace cordon::ipc {

namespace {

using TcpSocket = asio::ip::tcp::socket;
using TlsStream = beast::ssl_stream<TcpSocket>;

// Everything the sessions of one TLS server share besides the router.
struct TlsShared {
  std::shared_ptr<asio::ssl::context> ssl;
  TlsAuthentication authentication = TlsAuthentication::credentials;
  std::string role;
  std::vector<crypto::Sha256Digest> token_digests;
};

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

std::string subject_rfc2253(X509* certificate) {
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio == nullptr) return {};
  X509_NAME_print_ex(bio, X509_get_subject_name(certificate), 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  long length = BIO_get_mem_data(bio, &data);
  std::string subject(data, static_cast<std::size_t>(length > 0 ? length : 0));
  BIO_free(bio);
  return subject;
}

std::optional<std::string> common_name(X509* certificate) {
  X509_NAME* subject = X509_get_subject_name(certificate);
  int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (index < 0) return std::nullopt;
  ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index));
  unsigned char* utf8 = nullptr;
  int length = ASN1_STRING_to_UTF8(&utf8, data);
  if (length < 0) return std::nullopt;
  std::string name(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(length));
  OPENSSL_free(utf8);
  return name;
}

// The token of an "Authorization: Bearer <token>" header; nullopt for any other form.
std::optional<std::string_view> bearer_token(std::string_view authorization) {
  constexpr std::string_view scheme = "bearer ";
  if (authorization.size() <= scheme.size() ||
      !equals_ignore_case(authorization.substr(0, scheme.size()), scheme)) {
    return std::nullopt;
  }
  std::string_view token = authorization.substr(scheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  if (token.empty() || token.find(' ') != std::string_view::npos) return std::nullopt;
  return token;
}

std::string endpoint_text(const asio::ip::tcp::endpoint& endpoint) {
  auto address = endpoint.address();
  std::string host = address.to_string();
  if (address.is_v6()) host = "[" + host + "]";
  return host + ":" + std::to_string(endpoint.port());
}

class TlsSession final : public detail::HttpSession<TlsStream> {
public:
  TlsSession(TlsStream stream, std::shared_ptr<const detail::ServerContext> context,
             std::shared_ptr<detail::SessionRegistry> registry,
             std::shared_ptr<const TlsShared> shared, std::string remote_address)
      : HttpSession(std::move(stream), std::move(context), std::move(registry)),
        m_shared(std::move(shared)), m_remote_address(std::move(remote_address)) {}

protected:
  void begin() override {
    // Keeps the subject of a client certificate that fails verification, for the refusal's
    // audit record (the failed handshake leaves no certificate behind).
    beast::error_code ignored;
    m_stream.set_verify_callback(
        [this](bool preverified, asio::ssl::verify_context& context) {
          X509* leaf = X509_STORE_CTX_get0_cert(context.native_handle());
          if (!preverified && leaf != nullptr && m_rejected_subject.empty()) {
            m_rejected_subject = subject_rfc2253(leaf);
          }
          return preverified;
        },
        ignored);
    m_stream.async_handshake(asio::ssl::stream_base::server,
                             [self = shared_self()](beast::error_code error) {
                               self->on_handshake(error);
                             });
  }

  const Peer* authenticate(const Request& request, Response& refusal) override {
    if (m_certificate_peer) return &*m_certificate_peer;
    if (m_shared->authentication == TlsAuthentication::by_route) {
      m_token_peer = base_peer();
      m_token_peer.principal = m_shared->role + ":" + m_remote_address;
      m_token_peer.roles = {m_shared->role};
      return &m_token_peer;
    }
    auto token = bearer_token(request.authorization());
    if (token) {
      auto digest = crypto::sha256(*token);
      for (const auto& accepted : m_shared->token_digests) {
        if (!crypto::equal_constant_time(digest, accepted)) continue;
        m_token_peer = base_peer();
        m_token_peer.principal =
            m_shared->role + ":token-" + to_hex(std::span(digest).first(4));
        m_token_peer.roles = {m_shared->role};
        return &m_token_peer;
      }
    }
    std::string reason = token ? "bearer token not accepted"
                               : "a client certificate or a bearer token is required";
    refusal = problem_response(401, Errc::unauthenticated, reason);
    refusal.headers.push_back(Header{"WWW-Authenticate", "Bearer realm=\"cordon\""});
    Peer anonymous = base_peer();
    anonymous.principal = "anonymous";
    m_context->router->report_denied(request, anonymous, reason);
    return nullptr;
  }

  void close_transport() override {
    if (!m_handshake_done) {
      HttpSession::close_transport();
      return;
    }
    // close_notify, bounded by the timer close() armed; then the socket closes either way.
    m_stream.async_shutdown([self = shared_self()](beast::error_code) { self->finish_close(); });
  }

private:
  std::shared_ptr<TlsSession> shared_self() {
    return std::static_pointer_cast<TlsSession>(shared_from_this());
  }

  Peer base_peer() const {
    Peer peer;
    peer.transport = Transport::tls;
    peer.remote_address = m_remote_address;
    return peer;
  }

  void on_handshake(beast::error_code error) {
    if (m_phase != Phase::starting) return;
    if (error) {
      log::debug("TLS handshake failed", {{"remote", m_remote_address}, {"error", error.message()}});
      report_rejected_certificate();
      close();
      return;
    }
    m_handshake_done = true;
    SSL* ssl = m_stream.native_handle();
    X509* certificate = SSL_get0_peer_certificate(ssl);
    if (certificate != nullptr && SSL_get_verify_result(ssl) == X509_V_OK) {
      Peer peer = base_peer();
      peer.tls_subject = subject_rfc2253(certificate);
      peer.principal = m_shared->role + ":" + common_name(certificate).value_or(peer.tls_subject);
      peer.roles = {m_shared->role};
      m_certificate_peer = std::move(peer);
    }
    read_request();
  }

  // A client certificate that failed verification is a refused credential, reported to the
  // DeniedHook like a 401 (with an empty Request: none was read). Other failed handshakes (an
  // older TLS version, a port scan) present no credential and are only logged.
  void report_rejected_certificate() {
    const long result = SSL_get_verify_result(m_stream.native_handle());
    if (result == X509_V_OK) return;
    Peer peer = base_peer();
    peer.principal = "anonymous";
    peer.tls_subject = m_rejected_subject;
    Request none;
    none.method = Method::other;
    m_context->router->report_denied(
        none, peer, std::string("client certificate rejected: ") + X509_verify_cert_error_string(result));
  }

  std::shared_ptr<const TlsShared> m_shared;
  std::string m_remote_address;
  std::string m_rejected_subject;
  bool m_handshake_done = false;
  std::optional<Peer> m_certificate_peer;
  Peer m_token_peer;
};

Result<std::shared_ptr<const TlsShared>> make_shared_state(const TlsServerOptions& options) {
  auto shared = std::make_shared<TlsShared>();
  shared->role = options.role;
  shared->authentication = options.authentication;
  if (shared->role.empty()) return fail(Errc::invalid_argument, "TLS listener: empty role");
  for (const std::string& hex : options.bearer_token_sha256) {
    auto bytes = from_hex(hex);
    if (!bytes || bytes->size() != 32) {
      return fail(Errc::invalid_argument,
                  "TLS listener: bearer_token_sha256 entries must be 64 hex digits");
    }
    crypto::Sha256Digest digest{};
    std::copy(bytes->begin(), bytes->end(), digest.begin());
    shared->token_digests.push_back(digest);
  }
  if (options.authentication == TlsAuthentication::credentials && options.client_ca_file.empty() &&
      shared->token_digests.empty()) {
    return fail(Errc::invalid_argument,
                "TLS listener: configure a client CA, bearer tokens or both; otherwise nobody "
                "could authenticate");
  }

  ERR_clear_error();
  shared->ssl = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  SSL_CTX* context = shared->ssl->native_handle();
  auto failed = [](std::string what) {
    return fail(Errc::invalid_argument, "TLS listener: " + what + ": " + openssl_errors());
  };
  if (SSL_CTX_set_min_proto_version(context, TLS1_3_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(context, TLS1_3_VERSION) != 1) {
    return failed("cannot restrict to TLS 1.3");
  }
  SSL_CTX_set_options(context, SSL_OP_NO_RENEGOTIATION);
  // Clients here do not resume sessions; not issuing tickets saves work on every handshake.
  SSL_CTX_set_num_tickets(context, 0);
  if (SSL_CTX_use_certificate_chain_file(context, options.cert_file.c_str()) != 1) {
    return failed("loading certificate " + options.cert_file);
  }
  if (SSL_CTX_use_PrivateKey_file(context, options.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return failed("loading private key " + options.key_file);
  }
  if (SSL_CTX_check_private_key(context) != 1) return failed("key does not match certificate");
  if (!options.client_ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(context, options.client_ca_file.c_str(), nullptr) != 1) {
      return failed("loading client CA " + options.client_ca_file);
    }
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(options.client_ca_file.c_str());
    if (names == nullptr) return failed("reading client CA names from " + options.client_ca_file);
    SSL_CTX_set_client_CA_list(context, names);
    // Ask for a certificate but let clients without one through to bearer authentication; one
    // that is presented must verify, or the handshake fails.
    SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nullptr);
    SSL_CTX_set_purpose(context, X509_PURPOSE_SSL_CLIENT);
    static const unsigned char session_context[] = "cordon";
    SSL_CTX_set_session_id_context(context, session_context, sizeof session_context - 1);
  }
  return std::shared_ptr<const TlsShared>(std::move(shared));
}

Result<void> check_listening_tcp_socket(int fd) {
  int domain = 0, type = 0, listening = 0;
  socklen_t length = sizeof domain;
  if (::getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &length) != 0) {
    return fail(Errc::invalid_argument, "fd " + std::to_string(fd) + " is not a socket");
  }
  length = sizeof type;
  ::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &length);
  length = sizeof listening;
  ::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &length);
  if ((domain != AF_INET && domain != AF_INET6) || type != SOCK_STREAM || listening != 1) {
    return fail(Errc::invalid_argument,
                "fd " + std::to_string(fd) + " is not a listening TCP socket");
  }
  return ok();
}

} // namespace

TlsServer::TlsServer(std::shared_ptr<Listener> listener, std::uint16_t port,
                     std::string local_address)
    : m_listener(std::move(listener)), m_port(port), m_local_address(std::move(local_address)) {}

TlsServer::~TlsServer() { stop(); }

Result<std::unique_ptr<TlsServer>> TlsServer::bind(asio::io_context& io, const std::string& host,
                                                   std::uint16_t port,
                                                   const TlsServerOptions& options,
                                                   std::shared_ptr<const Router> router) {
  beast::error_code error;
  auto address = asio::ip::make_address(host, error);
  if (error) {
    return fail(Errc::invalid_argument,
                "TLS listener: \"" + host + "\" is not a numeric IP address");
  }
  asio::ip::tcp::endpoint endpoint(address, port);
  auto listener = std::make_shared<Listener>(io, options.limits.max_connections,
                                             endpoint_text(endpoint));
  auto& acceptor = listener->acceptor();
  acceptor.open(endpoint.protocol(), error);
  if (!error) acceptor.set_option(asio::socket_base::reuse_address(true), error);
  if (!error) acceptor.bind(endpoint, error);
  if (!error) acceptor.listen(asio::socket_base::max_listen_connections, error);
  if (error) {
    return fail(Errc::io_error, "listening on " + endpoint_text(endpoint) + ": " + error.message());
  }
  return serve(std::move(listener), options, std::move(router));
}

Result<std::unique_ptr<TlsServer>> TlsServer::adopt(asio::io_context& io, int fd,
                                                    const TlsServerOptions& options,
                                                    std::shared_ptr<const Router> router) {
  CORDON_TRY_VOID(check_listening_tcp_socket(fd));
  int domain = 0;
  socklen_t length = sizeof domain;
  ::getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &length);
  auto listener = std::make_shared<Listener>(io, options.limits.max_connections,
                                             "fd " + std::to_string(fd));
  beast::error_code error;
  listener->acceptor().assign(domain == AF_INET6 ? asio::ip::tcp::v6() : asio::ip::tcp::v4(), fd,
                              error);
  if (error) return fail(Errc::io_error, "adopting fd " + std::to_string(fd) + ": " + error.message());
  return serve(std::move(listener), options, std::move(router));
}

Result<std::unique_ptr<TlsServer>> TlsServer::serve(std::shared_ptr<Listener> listener,
                                                    const TlsServerOptions& options,
                                                    std::shared_ptr<const Router> router) {
  if (!router) return fail(Errc::invalid_argument, "a server needs a router");
  auto shared = CORDON_TRY(make_shared_state(options));
  beast::error_code error;
  auto local = listener->acceptor().local_endpoint(error);
  if (error) return fail(Errc::io_error, "TLS listener: local address: " + error.message());

  auto context = std::make_shared<const detail::ServerContext>(
      detail::ServerContext{std::move(router), options.limits});
  listener->start([context, shared](TcpSocket&& socket,
                                    std::shared_ptr<detail::SessionRegistry> registry)
                      -> std::shared_ptr<detail::SessionBase> {
    beast::error_code ignored;
    socket.set_option(asio::ip::tcp::no_delay(true), ignored);
    auto remote = socket.remote_endpoint(ignored);
    std::string remote_text = ignored ? std::string("unknown") : endpoint_text(remote);
    return std::make_shared<TlsSession>(TlsStream(std::move(socket), *shared->ssl), context,
                                        std::move(registry), shared, std::move(remote_text));
  });
  return std::unique_ptr<TlsServer>(
      new TlsServer(std::move(listener), local.port(), endpoint_text(local)));
}

void TlsServer::stop() {
  if (m_listener) m_listener->stop();
}

std::size_t TlsServer::connection_count() const { return m_listener->connection_count(); }

Result<std::pair<std::string, std::uint16_t>> parse_host_port(std::string_view address) {
  auto invalid = [&] {
    return fail(Errc::invalid_argument,
                "\"" + std::string(address) + "\" is not host:port or [IPv6]:port");
  };
  std::string_view host;
  std::string_view port;
  if (!address.empty() && address.front() == '[') {
    auto close = address.find("]:");
    if (close == std::string_view::npos) return invalid();
    host = address.substr(1, close - 1);
    port = address.substr(close + 2);
  } else {
    auto colon = address.rfind(':');
    if (colon == std::string_view::npos) return invalid();
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return invalid();
  }
  unsigned value = 0;
  auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (host.empty() || port.empty() || error != std::errc() || end != port.data() + port.size() ||
      value > 65535) {
    return invalid();
  }
  return std::pair<std::string, std::uint16_t>(std::string(host), static_cast<std::uint16_t>(value));
}

} // namespace cordon::ipc

#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "common/ipc/asio.h"
#include "common/ipc/router.h"
#include "common/ipc/server_limits.h"

namespace cordon::ipc {

namespace detail {
template <class Protocol>
class Listener;
}

// Who authenticates a request on a TLS listener.
enum class TlsAuthentication {
  credentials, // a client certificate or a bearer token, checked by the listener (below)
  by_route,    // every request reaches the router as role `role`, principal "<role>:<ip:port>";
               // the routes authenticate it themselves (approvald's one-time links and TOTP)
};

struct TlsServerOptions {
  TlsAuthentication authentication = TlsAuthentication::credentials;
  // The server's certificate chain and private key, PEM.
  std::string cert_file;
  std::string key_file;
  // CA certificates (PEM) that client certificates must chain to. Empty: no client certificates
  // are requested.
  std::string client_ca_file;
  // Lowercase hex SHA-256 digests of the accepted bearer tokens; the tokens themselves are never
  // configured or stored.
  std::vector<std::string> bearer_token_sha256;
  // The role both credentials grant, and the principal prefix: "<role>:<certificate CN>" or
  // "<role>:token-<first 8 hex of the token's SHA-256>".
  std::string role = "auditor";
  ServerLimits limits;
};

// The Router served over HTTPS: TLS 1.3 only (no renegotiation, no older versions), for network
// listeners such as auditd's auditor API (DESIGN.md §4, §7).
//
// Authentication, per request: a client certificate verified against client_ca_file during the
// handshake (a certificate that fails verification fails the handshake), else an
// `Authorization: Bearer <token>` whose SHA-256 is in bearer_token_sha256. Either gives the peer
// the configured role. Without either, the answer is a 401 problem with `WWW-Authenticate:
// Bearer`, and the router's DeniedHook hears about it. Peers have transport Transport::tls,
// unknown uid/gid/pid, tls_subject set for certificates and remote_address "ip:port".
//
// Threading and lifetime as UnixServer.
class TlsServer {
public:
  // Binds host:port (port 0 picks a free one; see port()).
  static Result<std::unique_ptr<TlsServer>> bind(asio::io_context& io, const std::string& host,
                                                 std::uint16_t port, const TlsServerOptions& options,
                                                 std::shared_ptr<const Router> router);
  // Serves an already listening TCP socket (socket activation). Takes ownership of `fd`.
  static Result<std::unique_ptr<TlsServer>> adopt(asio::io_context& io, int fd,
                                                  const TlsServerOptions& options,
                                                  std::shared_ptr<const Router> router);

  ~TlsServer();
  TlsServer(const TlsServer&) = delete;
  TlsServer& operator=(const TlsServer&) = delete;

  void stop();
  std::size_t connection_count() const;
  std::uint16_t port() const { return m_port; }
  // "127.0.0.1:8443" or "[::1]:8443".
  const std::string& local_address() const { return m_local_address; }

private:
  using Listener = detail::Listener<asio::ip::tcp>;
  TlsServer(std::shared_ptr<Listener> listener, std::uint16_t port, std::string local_address);
  static Result<std::unique_ptr<TlsServer>> serve(std::shared_ptr<Listener> listener,
                                                  const TlsServerOptions& options,
                                                  std::shared_ptr<const Router> router);

  std::shared_ptr<Listener> m_listener;
  std::uint16_t m_port = 0;
  std::string m_local_address;
};

// Splits "host:port", "[v6]:port" into its parts; fails (Errc::invalid_argument) on anything
// else, including a port outside 0..65535.
Result<std::pair<std::string, std::uint16_t>> parse_host_port(std::string_view address);

} // namespace cordon::ipc

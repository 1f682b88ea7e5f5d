#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/error.h"
#include "common/ipc/client_request.h"
#include "common/ipc/http.h"

namespace cordon::ipc {

struct HttpsClientOptions {
  // The server's name or IP address: what the connection goes to, what the server certificate
  // must be valid for, and (for names) the SNI.
  std::string host;
  std::uint16_t port = 443;
  // The pinned CA (PEM) the server certificate must chain to. Required: the system trust store is
  // never used.
  std::string ca_file;
  // An optional client certificate and key (PEM).
  std::string client_cert_file;
  std::string client_key_file;
  // An optional bearer token, sent as "Authorization: Bearer <token>" on every request.
  std::string bearer_token;
  ClientOptions client;
};

// A synchronous HTTPS client (TLS 1.3 only) with a pinned CA, optional client certificate or
// bearer token, and keep-alive; for the auditor CLI (`cordon-audit pull`). Not thread-safe.
// Results and retries as UnixClient; additionally a server certificate that does not verify
// fails with Errc::integrity and a failed handshake with Errc::unavailable.
class HttpsClient {
public:
  // Loads the CA and client credentials; fails (Errc::invalid_argument) on unreadable or
  // mismatched files. Does not connect yet.
  static Result<HttpsClient> create(HttpsClientOptions options);

  ~HttpsClient();
  HttpsClient(HttpsClient&&) noexcept;
  HttpsClient& operator=(HttpsClient&&) noexcept;

  Result<Response> request(Method method, std::string_view target, std::string_view body = {},
                           std::string_view content_type = {});
  Result<Response> request(const ClientRequest& request);
  Result<Response> get(std::string_view target) { return request(Method::get, target); }

  void close();
  bool connected() const;

private:
  struct State;
  explicit HttpsClient(std::unique_ptr<State> state);
  std::unique_ptr<State> m_state;
};

} // namespace cordon::ipc

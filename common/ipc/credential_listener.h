#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/config.h"
#include "common/error.h"
#include "common/ipc/asio.h"
#include "common/ipc/router.h"
#include "common/ipc/tls_server.h"
#include "common/systemd.h"

namespace cordon::ipc {

// A network listener whose peers authenticate with a client certificate or a bearer token
// (auditd's auditors, agentd's remote agents): how a daemon's config table describes it.
struct CredentialListenerConfig {
  std::string listen;       // "127.0.0.1:8443" when not socket-activated; port 0 picks a free one
  std::string address_file; // optional: where to write the bound "host:port"
  std::string cert;         // server certificate chain, PEM
  std::string key;          // its private key, PEM
  std::string client_ca;    // optional: CA whose client certificates authenticate peers
  std::vector<std::string> bearer_token_sha256; // lowercase hex SHA-256 of accepted bearer tokens
};

// Reads the table's keys `listen`, `address_file`, `cert`, `key`, `client_ca` and
// `bearer_token_sha256`; any other key is refused. Refuses a digest that is not 64 lowercase hex
// digits and a table with neither client_ca nor a token, since nobody could authenticate.
Result<CredentialListenerConfig> parse_credential_listener(const ConfigFile& table);

// Serves `router` over TLS 1.3 to peers with `role`: on the socket systemd passed under
// `fd_name` when socket-activated, else on `listen`. When `address_file` is set, the bound
// address is written there once the listener accepts (devstack picks free ports this way).
Result<std::unique_ptr<TlsServer>> start_credential_listener(asio::io_context& io,
                                                             const CredentialListenerConfig& config,
                                                             const std::vector<systemd::ListenFd>& fds,
                                                             std::string_view fd_name, std::string_view role,
                                                             std::shared_ptr<const Router> router,
                                                             ServerLimits limits = {});

} // namespace cordon::ipc

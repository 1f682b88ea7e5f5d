#include "common/ipc/credential_listener.h"

#include <fmt/format.h>

#include "common/files.h"
#include "common/log.h"

namespace cordon::ipc {

Result<CredentialListenerConfig> parse_credential_listener(const ConfigFile& table) {
  CORDON_TRY_VOID(table.require_known_keys({"listen", "address_file", "cert", "key", "client_ca", "bearer_token_sha256"}));
  CredentialListenerConfig out;
  out.listen = CORDON_TRY(table.optional_string("listen")).value_or("");
  out.address_file = CORDON_TRY(table.optional_string("address_file")).value_or("");
  out.cert = CORDON_TRY(table.string("cert"));
  out.key = CORDON_TRY(table.string("key"));
  out.client_ca = CORDON_TRY(table.optional_string("client_ca")).value_or("");
  out.bearer_token_sha256 =
      CORDON_TRY(table.optional_string_list("bearer_token_sha256")).value_or(std::vector<std::string>{});
  for (const auto& digest : out.bearer_token_sha256) {
    if (digest.size() != 64 || digest.find_first_not_of("0123456789abcdef") != std::string::npos)
      return fail(Errc::invalid_argument,
                  fmt::format("{}: {} holds a value that is not 64 lowercase hex digits", table.source(),
                              table.full_key("bearer_token_sha256")));
  }
  if (out.client_ca.empty() && out.bearer_token_sha256.empty())
    return fail(Errc::invalid_argument,
                fmt::format("{}: {} needs client_ca or bearer_token_sha256, or no peer could ever authenticate",
                            table.source(), table.key_prefix()));
  return out;
}

Result<std::unique_ptr<TlsServer>> start_credential_listener(asio::io_context& io,
                                                             const CredentialListenerConfig& config,
                                                             const std::vector<systemd::ListenFd>& fds,
                                                             std::string_view fd_name, std::string_view role,
                                                             std::shared_ptr<const Router> router,
                                                             ServerLimits limits) {
  TlsServerOptions options;
  options.cert_file = config.cert;
  options.key_file = config.key;
  options.client_ca_file = config.client_ca;
  options.bearer_token_sha256 = config.bearer_token_sha256;
  options.role = std::string(role);
  options.limits = limits;

  std::unique_ptr<TlsServer> server;
  if (auto fd = CORDON_TRY(systemd::find_listen_fd(fds, fd_name))) {
    server = CORDON_TRY(TlsServer::adopt(io, *fd, options, std::move(router)));
  } else {
    if (config.listen.empty())
      return fail(Errc::invalid_argument,
                  fmt::format("the {} listener has no listen address and systemd passed no \"{}\" socket", role, fd_name));
    auto [host, port] = CORDON_TRY(parse_host_port(config.listen));
    server = CORDON_TRY(TlsServer::bind(io, host, port, options, std::move(router)));
  }
  if (!config.address_file.empty())
    CORDON_TRY_VOID(write_file_atomically(config.address_file, server->local_address() + "\n"));
  log::info("HTTPS listener", {{"role", std::string(role)}, {"address", server->local_address()}});
  return server;
}

} // namespace cordon::ipc

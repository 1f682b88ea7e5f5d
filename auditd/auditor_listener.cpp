#include "auditd/auditor_listener.h"

#include "common/files.h"
#include "common/log.h"

namespace cordon::auditd {

Result<std::unique_ptr<AuditorListener>> AuditorListener::start(asio::io_context& io,
                                                                const AuditorListenerConfig& config,
                                                                const std::vector<systemd::ListenFd>& fds,
                                                                std::shared_ptr<const ipc::Router> router) {
  ipc::TlsServerOptions options;
  options.cert_file = config.cert;
  options.key_file = config.key;
  options.client_ca_file = config.client_ca;
  options.bearer_token_sha256 = config.bearer_token_sha256;
  options.role = "auditor";

  std::unique_ptr<ipc::TlsServer> server;
  auto fd = CORDON_TRY(systemd::find_listen_fd(fds, "auditor"));
  if (fd) {
    server = CORDON_TRY(ipc::TlsServer::adopt(io, *fd, options, std::move(router)));
  } else {
    if (config.listen.empty())
      return fail(Errc::invalid_argument, "auditd.auditor.listen is empty and systemd passed no \"auditor\" socket");
    auto [host, port] = CORDON_TRY(ipc::parse_host_port(config.listen));
    server = CORDON_TRY(ipc::TlsServer::bind(io, host, port, options, std::move(router)));
  }
  if (!config.address_file.empty())
    CORDON_TRY_VOID(write_file_atomically(config.address_file, server->local_address() + "\n"));
  log::info("auditor listener", {{"address", server->local_address()}});
  return std::unique_ptr<AuditorListener>(new AuditorListener(std::move(server)));
}

} // namespace cordon::auditd

#pragma once

#include <memory>
#include <vector>

#include "auditd/auditd_config.h"
#include "common/error.h"
#include "common/ipc/asio.h"
#include "common/ipc/router.h"
#include "common/ipc/tls_server.h"
#include "common/systemd.h"

namespace cordon::auditd {

// The auditor HTTPS listener (TLS 1.3): the socket systemd passed as "auditor" when
// socket-activated, else `listen` bound here. When `address_file` is set, the bound address is
// written there once the listener accepts (devstack picks a free port this way).
class AuditorListener {
public:
  static Result<std::unique_ptr<AuditorListener>> start(asio::io_context& io,
                                                        const AuditorListenerConfig& config,
                                                        const std::vector<systemd::ListenFd>& fds,
                                                        std::shared_ptr<const ipc::Router> router);
  void stop() { m_server->stop(); }
  const std::string& address() const { return m_server->local_address(); }

private:
  explicit AuditorListener(std::unique_ptr<ipc::TlsServer> server) : m_server(std::move(server)) {}
  std::unique_ptr<ipc::TlsServer> m_server;
};

} // namespace cordon::auditd

#include "common/ipc/client_pool.h"

#include "common/ipc/unix_client.h"

namespace cordon::ipc {

ClientPool::ClientPool(std::string socket_path, ClientOptions options, std::size_t max_idle)
    : m_socket_path(std::move(socket_path)), m_options(options), m_max_idle(max_idle) {}

ClientPool::~ClientPool() = default;

Result<Response> ClientPool::request(Method method, std::string_view target, std::string_view body,
                                     std::string_view content_type) {
  std::unique_ptr<UnixClient> client;
  {
    std::lock_guard lock(m_mutex);
    if (!m_idle.empty()) {
      client = std::move(m_idle.back());
      m_idle.pop_back();
    }
  }
  if (!client) client = std::make_unique<UnixClient>(m_socket_path, m_options);
  auto response = client->request(method, target, body, content_type);
  if (response) {
    std::lock_guard lock(m_mutex);
    if (m_idle.size() < m_max_idle) m_idle.push_back(std::move(client));
  }
  return response;
}

} // namespace cordon::ipc

#include "agentd/mcp/sessions.h"

#include "common/crypto.h"
#include "common/encoding.h"

namespace cordon::mcp {

Result<Session> SessionTable::open(std::string protocol_version, std::string run_id,
                                   std::string client_name, std::string principal) {
  const auto random = CORDON_TRY(crypto::random_bytes(16));
  Session session{"mcp-" + to_hex(random), std::move(protocol_version), std::move(run_id),
                  std::move(client_name), std::move(principal)};
  std::lock_guard lock(m_mutex);
  m_order.push_front(session.id);
  m_sessions[session.id] = Entry{session, m_order.begin()};
  while (m_sessions.size() > m_capacity) {
    m_sessions.erase(m_order.back());
    m_order.pop_back();
  }
  return session;
}

std::optional<Session> SessionTable::find(const std::string& id) {
  std::lock_guard lock(m_mutex);
  const auto found = m_sessions.find(id);
  if (found == m_sessions.end()) return std::nullopt;
  m_order.splice(m_order.begin(), m_order, found->second.position);
  return found->second.session;
}

void SessionTable::mark_initialized(const std::string& id) {
  std::lock_guard lock(m_mutex);
  if (const auto found = m_sessions.find(id); found != m_sessions.end()) found->second.session.initialized = true;
}

bool SessionTable::close(const std::string& id) {
  std::lock_guard lock(m_mutex);
  const auto found = m_sessions.find(id);
  if (found == m_sessions.end()) return false;
  m_order.erase(found->second.position);
  m_sessions.erase(found);
  return true;
}

std::size_t SessionTable::size() const {
  std::lock_guard lock(m_mutex);
  return m_sessions.size();
}

} // namespace cordon::mcp

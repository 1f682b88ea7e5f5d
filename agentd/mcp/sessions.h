#pragma once

#include <chrono>
#include <cstddef>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "common/error.h"

namespace cordon::mcp {

// One MCP session: what initialize negotiated and the run it is bound to.
struct Session {
  std::string id;
  std::string protocol_version;
  std::string run_id;
  std::string client_name;
  std::string principal;    // the authenticated peer that opened it; only it may use the session
  bool initialized = false; // notifications/initialized arrived
};

// The sessions agentd holds, bounded: beyond `capacity`, the least recently used one is
// forgotten (its client gets 404 and initializes again, as MCP's Streamable HTTP transport
// prescribes for an expired session). Ids are 128-bit random, unguessable. Thread-safe.
class SessionTable {
public:
  explicit SessionTable(std::size_t capacity = 1024) : m_capacity(capacity) {}

  // A new session with a fresh id (Errc::internal if the system's randomness fails).
  Result<Session> open(std::string protocol_version, std::string run_id, std::string client_name,
                       std::string principal);
  // The session, refreshed as most recently used; nullopt if unknown or forgotten.
  std::optional<Session> find(const std::string& id);
  void mark_initialized(const std::string& id);
  // Ends a session (HTTP DELETE); false if it was not known.
  bool close(const std::string& id);
  std::size_t size() const;

private:
  using Order = std::list<std::string>; // most recently used first
  struct Entry {
    Session session;
    Order::iterator position;
  };
  std::size_t m_capacity;
  mutable std::mutex m_mutex;
  Order m_order;
  std::unordered_map<std::string, Entry> m_sessions;
};

} // namespace cordon::mcp

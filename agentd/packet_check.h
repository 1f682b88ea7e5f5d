#pragma once

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>

#include "common/clock.h"
#include "common/decision/decision_packet.h"
#include "common/sqlite/sqlite.h"

namespace cordon::agentd {

// The executor's check of a decision packet (DESIGN.md §5.2): signature by the decision key,
// tenant, action digest, expiry (verify_decision_packet), and single use. A nonce is spent
// durably (nonces.db, synchronous=FULL) before the packet's action may run, so a packet replayed
// after a restart is refused too. Thread-safe.
class PacketCheck {
public:
  static Result<std::unique_ptr<PacketCheck>> open(const std::filesystem::path& path, std::string tenant,
                                                   const Clock& clock);

  // The decision, verified for `action_digest` (not yet spent).
  tl::expected<decision::Decision, decision::PacketError> verify(const Json& packet, const std::string& action_digest,
                                                                  std::span<const std::uint8_t> decision_key) const;
  // Marks the decision's nonce used. Errc::conflict (rejection `replayed`) if it was.
  Result<void> spend(const decision::Decision& decision);

private:
  PacketCheck(std::unique_ptr<Sqlite> db, std::string tenant, const Clock& clock)
      : m_db(std::move(db)), m_tenant(std::move(tenant)), m_clock(clock) {}

  std::mutex m_mutex;
  std::unique_ptr<Sqlite> m_db;
  std::string m_tenant;
  const Clock& m_clock;
};

} // namespace cordon::agentd

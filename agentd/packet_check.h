#pragma once

#include <filesystem>
#include <memory>
#include <span>
#include <string>

#include "common/clock.h"
#include "common/decision/decision_packet.h"
#include "common/spent_nonces.h"

namespace cordon::agentd {

// The executor's check of a decision packet (DESIGN.md §5.2): signature by the decision key,
// tenant, action digest, expiry (verify_decision_packet), and single use. A nonce is spent
// durably (one record appended and fdatasynced to `nonces.log`) before the packet's action may
// run, so a packet replayed after a restart is refused too. Thread-safe.
class PacketCheck {
public:
  // Opens `state_dir`/nonces.log. Nonces an older agentd spent in `state_dir`/nonces.db (SQLite)
  // are taken over first and that database is then removed; a takeover interrupted by a crash
  // runs again at the next start.
  static Result<std::unique_ptr<PacketCheck>> open(const std::filesystem::path& state_dir, std::string tenant,
                                                   const Clock& clock);

  // The decision, verified for `action_digest` (not yet spent).
  tl::expected<decision::Decision, decision::PacketError> verify(const Json& packet, const std::string& action_digest,
                                                                  std::span<const std::uint8_t> decision_key) const;
  // Marks the decision's nonce used. Errc::conflict (rejection `replayed`) if it was.
  Result<void> spend(const decision::Decision& decision);

private:
  PacketCheck(std::unique_ptr<SpentNonces> nonces, std::string tenant, const Clock& clock)
      : m_nonces(std::move(nonces)), m_tenant(std::move(tenant)), m_clock(clock) {}

  std::unique_ptr<SpentNonces> m_nonces;
  std::string m_tenant;
  const Clock& m_clock;
};

} // namespace cordon::agentd

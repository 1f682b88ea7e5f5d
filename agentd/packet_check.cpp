#include "agentd/packet_check.h"

#include <chrono>

namespace cordon::agentd {
namespace {

std::int64_t unix_seconds(std::chrono::system_clock::time_point time) {
  return std::chrono::duration_cast<std::chrono::seconds>(time.time_since_epoch()).count();
}

} // namespace

Result<std::unique_ptr<PacketCheck>> PacketCheck::open(const std::filesystem::path& path, std::string tenant,
                                                       const Clock& clock) {
  auto db = CORDON_TRY(Sqlite::open(path));
  CORDON_TRY_VOID(db->execute("CREATE TABLE IF NOT EXISTS spent_nonces (nonce TEXT PRIMARY KEY, forget_after INTEGER NOT NULL)"));
  return std::unique_ptr<PacketCheck>(new PacketCheck(std::move(db), std::move(tenant), clock));
}

tl::expected<decision::Decision, decision::PacketError> PacketCheck::verify(
    const Json& packet, const std::string& action_digest, std::span<const std::uint8_t> decision_key) const {
  decision::PacketExpectations expected{m_tenant, action_digest, decision_key, m_clock.now()};
  return decision::verify_decision_packet(packet, expected);
}

Result<void> PacketCheck::spend(const decision::Decision& decision) {
  std::lock_guard lock(m_mutex);
  // A nonce is remembered for an hour past its packet's expiry, longer than any packet lives.
  auto prune = CORDON_TRY(m_db->prepare("DELETE FROM spent_nonces WHERE forget_after < ?"));
  CORDON_TRY_VOID(prune.bind(1, unix_seconds(m_clock.now())).run());
  auto insert = CORDON_TRY(m_db->prepare("INSERT INTO spent_nonces (nonce, forget_after) VALUES (?, ?)"));
  auto inserted = insert.bind(1, decision.nonce).bind(2, unix_seconds(decision.expires_at) + 3600).run();
  if (!inserted && inserted.error().code == Errc::conflict) {
    return fail(Errc::conflict, "the decision packet was used before");
  }
  return inserted;
}

} // namespace cordon::agentd

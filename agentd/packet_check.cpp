#include "agentd/packet_check.h"

#include <chrono>
#include <system_error>

#include "common/sqlite/sqlite.h"

namespace cordon::agentd {
namespace {

// An older agentd kept each nonce with forget_after = its packet's expiry + 1 h.
constexpr std::chrono::seconds legacy_retention{3600};

// Takes the nonces of an older agentd's nonces.db over into `nonces`, then removes the database.
Result<void> take_over_legacy(const std::filesystem::path& state_dir, SpentNonces& nonces) {
  const auto db_path = state_dir / "nonces.db";
  std::error_code ignored;
  if (std::filesystem::exists(db_path)) {
    std::vector<std::pair<std::string, std::chrono::system_clock::time_point>> spent;
    {
      auto db = CORDON_TRY(Sqlite::open(db_path));
      CORDON_TRY_VOID(db->execute("CREATE TABLE IF NOT EXISTS spent_nonces (nonce TEXT PRIMARY KEY, forget_after INTEGER NOT NULL)"));
      auto select = CORDON_TRY(db->prepare("SELECT nonce, forget_after FROM spent_nonces"));
      while (CORDON_TRY(select.step())) {
        const auto expiry = std::chrono::system_clock::time_point(std::chrono::seconds(select.integer(1))) - legacy_retention;
        spent.emplace_back(select.text(0), expiry);
      }
    }
    CORDON_TRY_VOID(nonces.import(spent));
    if (!std::filesystem::remove(db_path, ignored) && ignored)
      return fail(Errc::io_error, "cannot remove " + db_path.string() + " after taking its nonces over: " + ignored.message());
  }
  // What SQLite leaves beside a database (the nonces in its WAL were read through it above).
  std::filesystem::remove(state_dir / "nonces.db-wal", ignored);
  std::filesystem::remove(state_dir / "nonces.db-shm", ignored);
  return ok();
}

} // namespace

Result<std::unique_ptr<PacketCheck>> PacketCheck::open(const std::filesystem::path& state_dir, std::string tenant,
                                                       const Clock& clock) {
  auto nonces = CORDON_TRY(SpentNonces::open(state_dir / "nonces.log", clock));
  CORDON_TRY_VOID(take_over_legacy(state_dir, *nonces));
  return std::unique_ptr<PacketCheck>(new PacketCheck(std::move(nonces), std::move(tenant), clock));
}

tl::expected<decision::Decision, decision::PacketError> PacketCheck::verify(
    const Json& packet, const std::string& action_digest, std::span<const std::uint8_t> decision_key) const {
  decision::PacketExpectations expected{m_tenant, action_digest, decision_key, m_clock.now()};
  return decision::verify_decision_packet(packet, expected);
}

Result<void> PacketCheck::spend(const decision::Decision& decision) {
  return m_nonces->spend(decision.nonce, decision.expires_at);
}

} // namespace cordon::agentd

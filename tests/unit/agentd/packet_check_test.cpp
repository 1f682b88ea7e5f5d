// agentd's own check of decision packets: forged, other-digest, other-tenant, expired and
// replayed packets are refused; a spent nonce stays spent across a restart, and across the move
// from nonces.db to nonces.log.
#include <catch2/catch.hpp>

#include "agentd/packet_check.h"
#include "common/crypto.h"
#include "common/encoding.h"
#include "common/sqlite/sqlite.h"
#include "tests/support/temp_dir.h"

using namespace cordon;
using namespace cordon::agentd;
using decision::Rejection;

namespace {

struct Fixture {
  testing::TempDir dir{"cordon-pc"};
  crypto::Ed25519KeyPair key = crypto::ed25519_generate().value();
  ManualClock clock{parse_rfc3339("2026-12-02T10:00:10Z").value()};
  std::string digest = "sha256:" + std::string(64, 'a');

  std::unique_ptr<PacketCheck> open() { return std::move(*PacketCheck::open(dir.path(), "acme", clock)); }

  Json packet(const std::string& nonce = "n-1", const std::string& tenant = "acme",
              const crypto::Ed25519KeyPair* signer = nullptr) const {
    const Json decision = {{"id", "d-1"}, {"tenant", tenant}, {"action_digest", digest}, {"verdict", "allow"},
                           {"mode", "live"}, {"rules", {"read-files"}}, {"policy_version", "sha256:00"},
                           {"approval", nullptr}, {"issued_at", "2026-12-02T10:00:00Z"},
                           {"expires_at", "2026-12-02T10:02:00Z"}, {"nonce", nonce}};
    const auto bytes = decision::decision_signing_bytes(decision).value();
    const auto signature = crypto::ed25519_sign(signer ? *signer : key, as_bytes(bytes)).value();
    return {{"decision", decision}, {"signature", to_base64(signature)}, {"key_id", decision::decision_key_id(key.public_key)}};
  }
};

} // namespace

TEST_CASE("a good packet verifies once and its nonce is then spent, also after a restart") {
  Fixture f;
  {
    auto check = f.open();
    auto decision = check->verify(f.packet(), f.digest, f.key.public_key);
    REQUIRE(decision);
    REQUIRE(check->spend(*decision));
    CHECK(check->spend(*decision).error().code == Errc::conflict);
  }
  auto reopened = f.open();
  auto again = reopened->verify(f.packet(), f.digest, f.key.public_key);
  REQUIRE(again); // the packet itself is still well signed
  CHECK(reopened->spend(*again).error().code == Errc::conflict);
}

TEST_CASE("forged, other-digest, other-tenant and expired packets are refused with their reason") {
  Fixture f;
  auto check = f.open();
  const auto forger = crypto::ed25519_generate().value();
  CHECK(check->verify(f.packet("n-2", "acme", &forger), f.digest, f.key.public_key).error().rejection == Rejection::signature);
  CHECK(check->verify(f.packet(), "sha256:" + std::string(64, 'b'), f.key.public_key).error().rejection == Rejection::digest);
  CHECK(check->verify(f.packet("n-3", "globex"), f.digest, f.key.public_key).error().rejection == Rejection::tenant);
  Json tampered = f.packet();
  tampered["decision"]["verdict"] = "allow";
  tampered["decision"]["mode"] = "dry_run";
  CHECK(check->verify(tampered, f.digest, f.key.public_key).error().rejection == Rejection::signature);
  CHECK(check->verify(Json{{"decision", 1}}, f.digest, f.key.public_key).error().rejection == Rejection::malformed);
  f.clock.advance(std::chrono::minutes(3));
  CHECK(check->verify(f.packet(), f.digest, f.key.public_key).error().rejection == Rejection::expired);
}

TEST_CASE("nonces an older agentd spent in nonces.db stay spent, and the database is removed") {
  Fixture f;
  {
    auto db = Sqlite::open(f.dir.path() / "nonces.db").value();
    REQUIRE(db->execute("CREATE TABLE spent_nonces (nonce TEXT PRIMARY KEY, forget_after INTEGER NOT NULL)"));
    // forget_after as the older agentd kept it: the packet's expiry (10:02:00Z) plus an hour.
    REQUIRE(db->execute("INSERT INTO spent_nonces VALUES ('n-old', " +
                        std::to_string(unix_seconds(parse_rfc3339("2026-12-02T11:02:00Z").value())) + ")"));
  }
  auto check = f.open();
  CHECK(!std::filesystem::exists(f.dir.path() / "nonces.db"));
  CHECK(!std::filesystem::exists(f.dir.path() / "nonces.db-wal"));
  auto decision = check->verify(f.packet("n-old"), f.digest, f.key.public_key);
  REQUIRE(decision);
  CHECK(check->spend(*decision).error().code == Errc::conflict);
  check.reset();
  auto reopened = f.open(); // the database is gone; the log remembers
  CHECK(reopened->spend(*decision).error().code == Errc::conflict);
  auto fresh = reopened->verify(f.packet("n-new"), f.digest, f.key.public_key);
  REQUIRE(fresh);
  CHECK(reopened->spend(*fresh));
}

// The key ring: keys created inside secretsd, kept only once committed, and signing that goes on
// while another key is being created.
#include <catch2/catch.hpp>

#include <chrono>
#include <future>

#include "common/crypto.h"
#include "secretsd/key_ring.h"
#include "secretsd/vault/vault.h"
#include "tests/support/temp_dir.h"

using namespace cordon;
using cordon::secretsd::KeyPurpose;
using cordon::secretsd::KeyRing;
using cordon::secretsd::PublicKeyInfo;
using cordon::secretsd::Vault;

namespace {

const std::string now = "2026-12-01T12:00:00.000000Z";

std::unique_ptr<Vault> open_vault(const std::filesystem::path& path) {
  auto kek = SecureBytes::allocate(32).value();
  std::fill(kek.data(), kek.data() + 32, std::uint8_t{7});
  return std::move(Vault::open(path, "acme", std::move(kek)).value());
}

} // namespace

TEST_CASE("a key signs while another key's creation waits for its record") {
  testing::TempDir dir;
  auto vault = open_vault(dir / "vault.db");
  auto ring = KeyRing::load(*vault).value();
  const auto decision = ring->generate(*vault, "decision", KeyPurpose::decision, now).value();

  // The customer key's before-commit step (the ledger's record, in secretsd) does not return
  // until the test lets it.
  std::promise<void> entered;
  std::promise<void> release;
  auto released = release.get_future().share();
  auto creating = std::async(std::launch::async, [&] {
    return ring->generate(*vault, "release-signing", KeyPurpose::customer, now, [&](const PublicKeyInfo&) -> Result<void> {
      entered.set_value();
      released.wait();
      return ok();
    });
  });
  entered.get_future().wait();

  const std::string message = "a decision";
  auto signing = std::async(std::launch::async, [&] { return ring->sign("decision", as_bytes(message)); });
  const bool signed_meanwhile = signing.wait_for(std::chrono::seconds(5)) == std::future_status::ready;
  // Looked up only when signing went on: a ring that blocks signing would block this too.
  const bool listed_meanwhile = signed_meanwhile && ring->find("release-signing").has_value();
  release.set_value();
  REQUIRE(signed_meanwhile);
  CHECK(!listed_meanwhile); // not kept before it commits
  const auto signature = signing.get().value();
  CHECK(crypto::ed25519_verify(decision.public_key, as_bytes(message), signature));
  REQUIRE(creating.get());
  CHECK(ring->find("release-signing").value().purpose == KeyPurpose::customer);
}

TEST_CASE("two creations of one name: the second is refused as a conflict, and a refused record keeps nothing") {
  testing::TempDir dir;
  auto vault = open_vault(dir / "vault.db");
  auto ring = KeyRing::load(*vault).value();
  const auto refuse = [](const PublicKeyInfo&) -> Result<void> { return fail(Errc::unavailable, "the ledger is down"); };
  CHECK(ring->generate(*vault, "release-signing", KeyPurpose::customer, now, refuse).error().code == Errc::unavailable);
  CHECK(ring->find("release-signing").error().code == Errc::not_found);
  REQUIRE(ring->generate(*vault, "release-signing", KeyPurpose::customer, now));
  CHECK(ring->generate(*vault, "release-signing", KeyPurpose::customer, now).error().code == Errc::conflict);
  // What the vault kept is what a restart loads.
  auto reloaded = KeyRing::load(*vault).value();
  CHECK(reloaded->list().size() == 1);
}

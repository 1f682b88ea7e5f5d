// The vault: envelope encryption in SQLite, bound by AAD, refusing the wrong KEK or tenant.
#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>

#include "common/crypto.h"
#include "common/sqlite/sqlite.h"
#include "secretsd/vault/vault.h"
#include "tests/support/temp_dir.h"

using cordon::Errc;
using cordon::SecureBytes;
using cordon::secretsd::Vault;

namespace {

SecureBytes kek_of(std::uint8_t fill) {
  auto kek = SecureBytes::allocate(32).value();
  std::fill(kek.data(), kek.data() + 32, fill);
  return kek;
}

std::unique_ptr<Vault> open_vault(const std::filesystem::path& path, std::string tenant = "acme", std::uint8_t fill = 7) {
  auto vault = Vault::open(path, std::move(tenant), kek_of(fill));
  REQUIRE(vault);
  return std::move(*vault);
}

std::span<const std::uint8_t> bytes(std::string_view text) { return cordon::as_bytes(text); }

std::string file_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

const std::string now = "2026-12-01T12:00:00.000000Z";

} // namespace

TEST_CASE("a stored secret reads back after the vault is reopened with the same KEK") {
  cordon::testing::TempDir dir;
  {
    auto vault = open_vault(dir / "vault.db");
    auto stored = vault->put("github-token", bytes("ghp_s3cret"), {"http.request"}, now);
    REQUIRE(stored);
    CHECK(stored->name == "acme/github-token");
    CHECK(stored->version == 1);
  }
  auto vault = open_vault(dir / "vault.db");
  auto value = vault->value("github-token");
  REQUIRE(value);
  CHECK(value->view() == "ghp_s3cret");
}

TEST_CASE("values are not in the database file in the clear") {
  cordon::testing::TempDir dir;
  auto vault = open_vault(dir / "vault.db");
  REQUIRE(vault->put("db-password", bytes("correct-horse-battery-staple"), {"sql.query"}, now));
  vault.reset();
  const auto content = file_bytes(dir / "vault.db") + file_bytes(dir / "vault.db-wal");
  CHECK(content.find("correct-horse-battery-staple") == std::string::npos);
}

TEST_CASE("a vault refuses a different KEK before anything is read or written") {
  cordon::testing::TempDir dir;
  REQUIRE(open_vault(dir / "vault.db")->put("token", bytes("v"), {"http.request"}, now));
  auto other = Vault::open(dir / "vault.db", "acme", kek_of(8));
  REQUIRE_FALSE(other);
  CHECK(other.error().code == Errc::integrity);
  CHECK(other.error().message.find("KEK") != std::string::npos);
}

TEST_CASE("a vault refuses to open for another tenant") {
  cordon::testing::TempDir dir;
  open_vault(dir / "vault.db", "acme");
  auto other = Vault::open(dir / "vault.db", "globex", kek_of(7));
  REQUIRE_FALSE(other);
  CHECK(other.error().code == Errc::integrity);
}

TEST_CASE("rotate keeps the old version and serves the new one") {
  cordon::testing::TempDir dir;
  auto vault = open_vault(dir / "vault.db");
  REQUIRE(vault->put("token", bytes("one"), {"http.request"}, now));
  auto rotated = vault->rotate("token", bytes("two"), std::nullopt, now);
  REQUIRE(rotated);
  CHECK(rotated->version == 2);
  CHECK(rotated->tools == std::vector<std::string>{"http.request"});
  CHECK(vault->value("token")->view() == "two");
  vault.reset();
  auto db = cordon::Sqlite::open(dir / "vault.db").value();
  auto count = db->prepare("SELECT COUNT(*) FROM secrets WHERE name = 'acme/token'").value();
  REQUIRE(count.step().value());
  CHECK(count.integer(0) == 2);
}

TEST_CASE("put refuses an existing name, rotate and delete an unknown one") {
  cordon::testing::TempDir dir;
  auto vault = open_vault(dir / "vault.db");
  REQUIRE(vault->put("token", bytes("one"), {"http.request"}, now));
  CHECK(vault->put("token", bytes("two"), {"http.request"}, now).error().code == Errc::conflict);
  CHECK(vault->rotate("missing", bytes("x"), std::nullopt, now).error().code == Errc::not_found);
  CHECK(vault->remove("missing").error().code == Errc::not_found);
  CHECK(vault->value("token")->view() == "one");
}

TEST_CASE("bad names, empty or oversized values and empty scopes are refused") {
  cordon::testing::TempDir dir;
  auto vault = open_vault(dir / "vault.db");
  for (const std::string& name : {std::string(), std::string("Upper"), std::string("../etc"), std::string("acme/token"),
                                 std::string("-dash"), std::string(129, 'a')}) {
    CHECK(vault->put(name, bytes("v"), {"http.request"}, now).error().code == Errc::invalid_argument);
  }
  CHECK(vault->put("token", bytes(""), {"http.request"}, now).error().code == Errc::invalid_argument);
  const std::string big(64 * 1024 + 1, 'x');
  CHECK(vault->put("token", bytes(big), {"http.request"}, now).error().code == Errc::invalid_argument);
  CHECK(vault->put("token", bytes("v"), {}, now).error().code == Errc::invalid_argument);
  CHECK(vault->list()->empty());
}

TEST_CASE("a corrupted ciphertext row is refused as integrity, never returned") {
  cordon::testing::TempDir dir;
  REQUIRE(open_vault(dir / "vault.db")->put("token", bytes("value"), {"http.request"}, now));
  {
    auto db = cordon::Sqlite::open(dir / "vault.db").value();
    REQUIRE(db->execute("UPDATE secrets SET ciphertext = CAST(zeroblob(40) AS BLOB) || substr(ciphertext, 41)"));
  }
  auto value = open_vault(dir / "vault.db")->value("token");
  REQUIRE_FALSE(value);
  CHECK(value.error().code == Errc::integrity);
}

TEST_CASE("a ciphertext moved to another name does not decrypt") {
  cordon::testing::TempDir dir;
  {
    auto vault = open_vault(dir / "vault.db");
    REQUIRE(vault->put("alpha", bytes("alpha-value"), {"http.request"}, now));
    REQUIRE(vault->put("beta", bytes("beta-value"), {"http.request"}, now));
  }
  {
    auto db = cordon::Sqlite::open(dir / "vault.db").value();
    REQUIRE(db->execute("UPDATE secrets SET wrapped_key = (SELECT wrapped_key FROM secrets WHERE name = 'acme/alpha'), "
                        "ciphertext = (SELECT ciphertext FROM secrets WHERE name = 'acme/alpha') WHERE name = 'acme/beta'"));
  }
  auto value = open_vault(dir / "vault.db")->value("beta");
  REQUIRE_FALSE(value);
  CHECK(value.error().code == Errc::integrity);
}

TEST_CASE("a vault that kept spent nonces and leases in its tables hands them over once") {
  cordon::testing::TempDir dir;
  CHECK_FALSE(open_vault(dir / "vault.db")->legacy_lease_state()->present);
  {
    // The tables as vaults before the lease book had them.
    auto db = cordon::Sqlite::open(dir / "vault.db").value();
    REQUIRE(db->execute("CREATE TABLE spent_nonces (nonce TEXT PRIMARY KEY, forget_after INTEGER NOT NULL);"
                        "CREATE TABLE leases (id TEXT PRIMARY KEY, secret TEXT NOT NULL, version INTEGER NOT NULL, "
                        "decision_id TEXT NOT NULL, run_id TEXT NOT NULL, expires_at INTEGER NOT NULL);"
                        "INSERT INTO spent_nonces VALUES ('n-1', 1900000000), ('n-2', 1900000100);"
                        "INSERT INTO leases VALUES ('l-1', 'acme/token', 2, 'd-1', 'r-1', 1900000000123);"));
  }
  auto vault = open_vault(dir / "vault.db");
  const auto legacy = vault->legacy_lease_state().value();
  REQUIRE(legacy.present);
  REQUIRE(legacy.nonces.size() == 2);
  CHECK(legacy.nonces[0].first == "n-1");
  CHECK(legacy.nonces[0].second == std::chrono::system_clock::time_point(std::chrono::seconds(1900000000)));
  REQUIRE(legacy.leases.size() == 1);
  CHECK(legacy.leases[0].id == "l-1");
  CHECK(legacy.leases[0].secret == "acme/token");
  CHECK(legacy.leases[0].version == 2);
  CHECK(legacy.leases[0].expires_at == std::chrono::system_clock::time_point(std::chrono::milliseconds(1900000000123)));
  REQUIRE(vault->drop_legacy_lease_state());
  CHECK_FALSE(vault->legacy_lease_state()->present);
}

TEST_CASE("destroy_contents leaves no secret, key or value in the database file") {
  cordon::testing::TempDir dir;
  auto vault = open_vault(dir / "vault.db");
  REQUIRE(vault->put("token", bytes("plain-value-to-forget"), {"http.request"}, now));
  REQUIRE(vault->destroy_contents(now));
  CHECK(vault->list()->empty());
  vault.reset();
  CHECK(Vault::shredded_at(dir / "vault.db").value() == now);
  auto reopened = Vault::open(dir / "vault.db", "acme", kek_of(7));
  REQUIRE_FALSE(reopened);
  CHECK(reopened.error().message.find("shredded") != std::string::npos);
}

TEST_CASE("a change whose before-commit step fails is rolled back") {
  cordon::testing::TempDir dir;
  auto vault = open_vault(dir / "vault.db");
  const auto refuse = [](const cordon::secretsd::SecretMetadata&) -> cordon::Result<void> {
    return cordon::fail(Errc::unavailable, "audit ledger down");
  };
  CHECK(vault->put("token", bytes("one"), {"http.request"}, now, refuse).error().code == Errc::unavailable);
  CHECK(vault->metadata("token").error().code == Errc::not_found);
  REQUIRE(vault->put("token", bytes("one"), {"http.request"}, now));
  CHECK(vault->rotate("token", bytes("two"), std::nullopt, now, refuse).error().code == Errc::unavailable);
  CHECK(vault->remove("token", refuse).error().code == Errc::unavailable);
  CHECK(vault->value("token")->view() == "one");
  CHECK(vault->metadata("token")->version == 1);
}

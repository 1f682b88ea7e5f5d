#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/encoding.h"
#include "common/error.h"
#include "common/secure_bytes.h"
#include "common/sqlite/sqlite.h"
#include "secretsd/vault/lease_book.h"

namespace cordon::secretsd {

// What may be said about a secret without revealing it.
struct SecretMetadata {
  std::string name;               // tenant-prefixed: "acme/github-token"
  std::int64_t version = 0;       // 1, 2, … (rotate adds one; old versions are kept)
  std::vector<std::string> tools; // the tools a decision may lease it for: its scope
  std::string created_at;         // RFC 3339 of this version
};

struct SigningKeyRecord {
  std::string name;    // "decision", "checkpoint", or a customer key's name
  std::string purpose; // decision | checkpoint | customer
  Bytes public_key;
  SecureBytes seed;
};

// The encrypted secret store (DESIGN.md §8), one SQLite file. Every value is AES-256-GCM under
// its own random data key; each data key is AES-256-GCM under the KEK. The AAD of both binds
// tenant, name and version, so a ciphertext moved to another row, name, version or tenant does
// not decrypt. The KEK is checked against a sealed marker at open, so a wrong KEK is refused
// before anything is written with it. Names are validated short names ([a-z0-9][a-z0-9._-]*, at
// most 128 bytes) and stored tenant-prefixed.
//
// Thread-safe (one connection behind a mutex). Errors never hold secret values.
class Vault {
public:
  // Opens or creates the store for `tenant`. Errc::integrity when the store belongs to another
  // tenant, the KEK does not open its marker (a different KEK), or it was shredded.
  static Result<std::unique_ptr<Vault>> open(const std::filesystem::path& path, std::string tenant, SecureBytes kek);

  // When the store at `path` was crypto-shredded, its time; nullopt for a live or new store.
  static Result<std::optional<std::string>> shredded_at(const std::filesystem::path& path);

  // The short name -> the stored name, or Errc::invalid_argument.
  Result<std::string> full_name(std::string_view short_name) const;

  // put: a new secret (Errc::conflict if it exists). rotate: a new version of an existing one
  // (Errc::not_found otherwise), keeping its scope unless `tools` is given. Values: 1..64 KiB.
  //
  // `before_commit`, when given, runs inside the transaction once the change is made; if it fails
  // the change is rolled back and its error returned. secretsd records the audit event there, so
  // a change the ledger did not take does not happen.
  using BeforeCommit = std::function<Result<void>(const SecretMetadata&)>;
  Result<SecretMetadata> put(std::string_view short_name, std::span<const std::uint8_t> value,
                             const std::vector<std::string>& tools, std::string_view now,
                             const BeforeCommit& before_commit = {});
  Result<SecretMetadata> rotate(std::string_view short_name, std::span<const std::uint8_t> value,
                                const std::optional<std::vector<std::string>>& tools, std::string_view now,
                                const BeforeCommit& before_commit = {});
  // Removes every version (secure_delete zeroes the freed pages). Errc::not_found.
  Result<void> remove(std::string_view short_name, const BeforeCommit& before_commit = {});
  Result<std::vector<SecretMetadata>> list() const;
  Result<SecretMetadata> metadata(std::string_view short_name) const;
  // The current version's value. Errc::not_found; Errc::integrity for a row that does not
  // decrypt (corrupted or moved).
  Result<SecureBytes> value(std::string_view short_name) const;

  // `before_commit`, when given, runs inside the transaction once the key is written: if it fails
  // (the ledger refused the key's record), nothing is stored.
  Result<void> store_signing_key(const SigningKeyRecord& key, std::string_view now,
                                 const std::function<Result<void>()>& before_commit = {});
  Result<std::vector<SigningKeyRecord>> signing_keys() const;

  // Spent nonces and open leases as vaults before the LeaseBook kept them (tables spent_nonces and
  // leases): read once at start-up, taken into the LeaseBook, then dropped. `present` is false
  // for a vault without those tables.
  struct LegacyLeaseState {
    bool present = false;
    std::vector<std::pair<std::string, std::chrono::system_clock::time_point>> nonces;
    std::vector<Lease> leases;
  };
  Result<LegacyLeaseState> legacy_lease_state() const;
  Result<void> drop_legacy_lease_state();

  // Crypto-shred, database half: deletes every secret, data key and signing key, zeroes the
  // freed pages, checkpoints the WAL, vacuums, and marks the store shredded at `now`. The KEK's
  // custody destroys the KEK itself.
  Result<void> destroy_contents(std::string_view now);

  const std::string& tenant() const { return m_tenant; }

private:
  Vault(std::unique_ptr<Sqlite> db, std::string tenant, SecureBytes kek)
      : m_db(std::move(db)), m_tenant(std::move(tenant)), m_kek(std::move(kek)) {}
  Result<void> check_or_seal_marker();
  Result<SecretMetadata> add_version(const std::string& name, std::int64_t version, std::span<const std::uint8_t> value,
                                     const std::vector<std::string>& tools, std::string_view now);
  Result<SecretMetadata> current_metadata(const std::string& name) const;

  mutable std::mutex m_mutex;
  std::unique_ptr<Sqlite> m_db;
  std::string m_tenant;
  SecureBytes m_kek;
};

} // namespace cordon::secretsd

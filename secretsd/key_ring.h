#pragma once

#include <array>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string>
#include <vector>

#include "common/crypto.h"
#include "common/error.h"
#include "common/secure_bytes.h"
#include "secretsd/vault/vault.h"

namespace cordon::secretsd {

// The purposes a signing key can serve (DESIGN.md §8). Each key has exactly one, fixed when it is
// created; the signing oracle checks that every message fits the purpose before signing it.
enum class KeyPurpose {
  decision,   // decision packets; approvald only
  checkpoint, // the ledger's checkpoints; auditd only
  customer,   // a customer's key; only with a decision packet that allows the signature
};
std::string_view key_purpose_name(KeyPurpose purpose);
Result<KeyPurpose> parse_key_purpose(std::string_view name);

struct PublicKeyInfo {
  std::string name;
  KeyPurpose purpose;
  std::array<std::uint8_t, 32> public_key{};
};

// The Ed25519 keys secretsd holds, generated inside secretsd (or, once, imported from auditd's
// key file so that auditors' pinned verifier key stays valid). Seeds are stored in the vault
// under the KEK and held in memory only in locked, wiped SecureBytes. Private keys never leave:
// there is no call that returns one. Thread-safe; signing never waits for a key being created
// (whose before-commit step may wait on the ledger), only creations wait for each other.
class KeyRing {
public:
  static Result<std::unique_ptr<KeyRing>> load(Vault& vault);

  // Runs once a new key is written, before it is committed; a failure stores nothing.
  using BeforeCommit = std::function<Result<void>(const PublicKeyInfo&)>;

  // Errc::conflict when a key of that name exists.
  Result<PublicKeyInfo> generate(Vault& vault, std::string_view name, KeyPurpose purpose, std::string_view now,
                                 const BeforeCommit& before_commit = {});
  Result<PublicKeyInfo> import(Vault& vault, std::string_view name, KeyPurpose purpose,
                               std::span<const std::uint8_t> seed, std::string_view now,
                               const BeforeCommit& before_commit = {});

  // Errc::not_found.
  Result<PublicKeyInfo> find(std::string_view name) const;
  std::vector<PublicKeyInfo> list() const;
  Result<std::array<std::uint8_t, 64>> sign(std::string_view name, std::span<const std::uint8_t> message) const;

private:
  struct Key {
    PublicKeyInfo info;
    SecureBytes pair; // a crypto::Ed25519KeyPair
  };
  Result<PublicKeyInfo> add(Vault& vault, std::string_view name, KeyPurpose purpose,
                            const crypto::Ed25519KeyPair& pair, std::string_view now, const BeforeCommit& before_commit);

  std::mutex m_creating;            // held by add() alone, across the vault's commit
  mutable std::shared_mutex m_mutex; // guards m_keys; never held across I/O
  std::map<std::string, Key, std::less<>> m_keys;
};

} // namespace cordon::secretsd

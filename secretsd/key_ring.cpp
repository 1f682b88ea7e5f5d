#include "secretsd/key_ring.h"

#include <cstring>
#include <mutex>

namespace cordon::secretsd {

namespace {
const crypto::Ed25519KeyPair& pair_of(const SecureBytes& bytes) {
  return *reinterpret_cast<const crypto::Ed25519KeyPair*>(bytes.data());
}
} // namespace

std::string_view key_purpose_name(KeyPurpose purpose) {
  switch (purpose) {
  case KeyPurpose::decision: return "decision";
  case KeyPurpose::checkpoint: return "checkpoint";
  case KeyPurpose::customer: return "customer";
  }
  return "unknown";
}

Result<KeyPurpose> parse_key_purpose(std::string_view name) {
  if (name == "decision") return KeyPurpose::decision;
  if (name == "checkpoint") return KeyPurpose::checkpoint;
  if (name == "customer") return KeyPurpose::customer;
  return fail(Errc::invalid_argument, "a key purpose is decision, checkpoint or customer");
}

Result<std::unique_ptr<KeyRing>> KeyRing::load(Vault& vault) {
  auto ring = std::make_unique<KeyRing>();
  auto records = CORDON_TRY(vault.signing_keys());
  for (auto& record : records) {
    const auto purpose = CORDON_TRY(parse_key_purpose(record.purpose));
    auto pair = CORDON_TRY(crypto::ed25519_from_seed(record.seed.span()));
    if (record.public_key.size() != 32 || std::memcmp(record.public_key.data(), pair.public_key.data(), 32) != 0) {
      crypto::wipe(pair.seed);
      return fail(Errc::integrity, "signing key " + record.name + " does not match its stored public key");
    }
    Key key{PublicKeyInfo{record.name, purpose, pair.public_key}, CORDON_TRY(SecureBytes::allocate(sizeof pair))};
    std::memcpy(key.pair.data(), &pair, sizeof pair);
    crypto::wipe(pair.seed);
    ring->m_keys.emplace(record.name, std::move(key));
  }
  return ring;
}

Result<PublicKeyInfo> KeyRing::add(Vault& vault, std::string_view name, KeyPurpose purpose,
                                   const crypto::Ed25519KeyPair& pair, std::string_view now,
                                   const BeforeCommit& before_commit) {
  // One creation at a time, so that the name checked here is still free when the key goes in;
  // the map's lock is not held across the vault's commit and its ledger round trip, so that
  // every other key signs meanwhile.
  std::lock_guard creating(m_creating);
  {
    std::shared_lock lock(m_mutex);
    if (m_keys.find(name) != m_keys.end()) return fail(Errc::conflict, "a signing key named " + std::string(name) + " exists");
  }
  SigningKeyRecord record{std::string(name), std::string(key_purpose_name(purpose)),
                          Bytes(pair.public_key.begin(), pair.public_key.end()), CORDON_TRY(SecureBytes::copy_of(pair.seed))};
  const PublicKeyInfo created{std::string(name), purpose, pair.public_key};
  std::function<Result<void>()> recording;
  if (before_commit) recording = [&] { return before_commit(created); };
  CORDON_TRY_VOID(vault.store_signing_key(record, now, recording));
  Key key{created, CORDON_TRY(SecureBytes::allocate(sizeof pair))};
  std::memcpy(key.pair.data(), &pair, sizeof pair);
  auto info = key.info;
  std::unique_lock lock(m_mutex);
  m_keys.emplace(std::string(name), std::move(key));
  return info;
}

Result<PublicKeyInfo> KeyRing::generate(Vault& vault, std::string_view name, KeyPurpose purpose, std::string_view now,
                                        const BeforeCommit& before_commit) {
  auto pair = CORDON_TRY(crypto::ed25519_generate());
  auto info = add(vault, name, purpose, pair, now, before_commit);
  crypto::wipe(pair.seed);
  return info;
}

Result<PublicKeyInfo> KeyRing::import(Vault& vault, std::string_view name, KeyPurpose purpose,
                                      std::span<const std::uint8_t> seed, std::string_view now,
                                      const BeforeCommit& before_commit) {
  if (seed.size() != 32) return fail(Errc::invalid_argument, "an Ed25519 seed is 32 bytes");
  auto pair = CORDON_TRY(crypto::ed25519_from_seed(seed));
  auto info = add(vault, name, purpose, pair, now, before_commit);
  crypto::wipe(pair.seed);
  return info;
}

Result<PublicKeyInfo> KeyRing::find(std::string_view name) const {
  std::shared_lock lock(m_mutex);
  const auto found = m_keys.find(name);
  if (found == m_keys.end()) return fail(Errc::not_found, "no signing key named " + std::string(name));
  return found->second.info;
}

std::vector<PublicKeyInfo> KeyRing::list() const {
  std::shared_lock lock(m_mutex);
  std::vector<PublicKeyInfo> out;
  for (const auto& [name, key] : m_keys) out.push_back(key.info);
  return out;
}

Result<std::array<std::uint8_t, 64>> KeyRing::sign(std::string_view name, std::span<const std::uint8_t> message) const {
  std::shared_lock lock(m_mutex);
  const auto found = m_keys.find(name);
  if (found == m_keys.end()) return fail(Errc::not_found, "no signing key named " + std::string(name));
  return crypto::ed25519_sign(pair_of(found->second.pair), message);
}

} // namespace cordon::secretsd

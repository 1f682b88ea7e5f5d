#pragma once

#include <atomic>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>

#include "auditd/ledger/checkpoint_signer.h"

namespace cordon::auditd {

// Checkpoints signed by secretsd's `checkpoint` key through its oracle (POST /v1/sign): the
// private key never enters auditd (DESIGN.md §8).
//
// prepare() resolves the key, once secretsd answers:
//   - secretsd holds a checkpoint key: that is the key. If auditd still has its old key file
//     (`legacy_key_file`) with the same key, the file is shredded (a move interrupted before);
//     with another key, prepare() fails with Errc::integrity and never signs: auditors pinned one
//     of the two, and picking either silently would break their verification or hide a swap.
//   - secretsd holds none and the key file exists: its seed is moved into secretsd (once), then
//     the file is shredded, so the verifier key auditors pinned stays valid.
//   - neither: secretsd generates the key.
// Until then ready() is false. Thread-safe.
class SecretsdCheckpointSigner final : public ledger::CheckpointSigner {
public:
  // `name`: the checkpoint origin, the note key name.
  SecretsdCheckpointSigner(std::string socket, std::string name, std::filesystem::path legacy_key_file);
  ~SecretsdCheckpointSigner() override;

  const std::string& name() const override { return m_name; }
  const ledger::Ed25519PublicKey& public_key() const override { return m_public_key; }
  Result<ledger::Ed25519Signature> sign(std::span<const std::uint8_t> message) const override;
  bool ready() const override { return m_ready.load(); }
  Result<void> prepare() const override;

private:
  Result<ledger::Ed25519PublicKey> resolve() const;

  std::string m_socket;
  std::string m_name;
  std::filesystem::path m_legacy_key_file;
  mutable std::mutex m_mutex; // one request to secretsd at a time
  mutable ledger::Ed25519PublicKey m_public_key{};
  mutable std::atomic<bool> m_ready{false};
};

} // namespace cordon::auditd

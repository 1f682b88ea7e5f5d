#pragma once

// A checkpoint signer with a fixed Ed25519 key, so that fuzz targets can sign what they build
// and the seed corpora can hold notes that verify. Not a secret: it signs nothing real.

#include <array>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>

#include "auditd/ledger/checkpoint_signer.h"
#include "common/crypto.h"

namespace cordon::fuzz {

class FuzzSigner final : public ledger::CheckpointSigner {
public:
  const std::string& name() const override { return m_name; }
  const ledger::Ed25519PublicKey& public_key() const override { return m_key.public_key; }
  Result<ledger::Ed25519Signature> sign(std::span<const std::uint8_t> message) const override {
    return crypto::ed25519_sign(m_key, message);
  }

  // The one instance (deriving the key costs more than most fuzz inputs).
  static const FuzzSigner& instance() {
    static const FuzzSigner signer;
    return signer;
  }

  // Its verifier key, as an auditor pins it.
  static const ledger::NoteVerifierKey& pinned_key() {
    static const ledger::NoteVerifierKey key = instance().verifier_key();
    return key;
  }

private:
  FuzzSigner() {
    std::array<std::uint8_t, 32> seed{};
    for (std::size_t i = 0; i < seed.size(); ++i) seed[i] = static_cast<std::uint8_t>(i * 7 + 1);
    auto key = crypto::ed25519_from_seed(seed);
    if (!key) std::abort();
    m_key = *key;
  }

  std::string m_name = "fuzz.example/log";
  crypto::Ed25519KeyPair m_key{};
};

} // namespace cordon::fuzz

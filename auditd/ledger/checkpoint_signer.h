#pragma once

#include <filesystem>
#include <memory>
#include <span>
#include <string>

#include "auditd/ledger/signed_note.h"
#include "common/crypto.h"
#include "common/error.h"

namespace cordon::ledger {

// Whatever signs the ledger's checkpoints with Ed25519: a key file in auditd's state directory
// (FileCheckpointSigner), or secretsd's signing oracle (auditd/secretsd_checkpoint_signer.h).
// Implementations are thread-safe.
//
// A signer may not be ready at once (secretsd may start after auditd): until ready() is true,
// public_key() and verifier_key() are meaningless and sign() fails with Errc::unavailable. The
// checkpointer calls prepare() until it is.
class CheckpointSigner {
public:
  virtual ~CheckpointSigner() = default;
  // The note key name (also the checkpoint origin by convention).
  virtual const std::string& name() const = 0;
  virtual const Ed25519PublicKey& public_key() const = 0;
  // An RFC 8032 Ed25519 signature over `message`.
  virtual Result<Ed25519Signature> sign(std::span<const std::uint8_t> message) const = 0;

  // The C2SP verifier key of this signer ("name+keyid+base64"), for GET /v1/verifier-key.
  NoteVerifierKey verifier_key() const;

  virtual bool ready() const { return true; }
  // Tries to become ready; the error says why not yet. May block for a bounded time.
  virtual Result<void> prepare() const { return ok(); }
};

// A signer whose 32-byte Ed25519 seed lives in a file of mode 0600, owned by this user.
class FileCheckpointSigner final : public CheckpointSigner {
public:
  // Loads the key in `key_file`, creating it (from the kernel's randomness, written to a
  // temporary file, synced and linked into place) if it does not exist. Refuses, with
  // Errc::permission_denied, a file that is readable or writable by group or others, owned by
  // another user, or a symlink; with Errc::integrity one that is not exactly 32 bytes.
  // Errc::invalid_argument for a bad key name.
  static Result<std::unique_ptr<FileCheckpointSigner>> open(const std::filesystem::path& key_file,
                                                            std::string name);
  ~FileCheckpointSigner() override;

  const std::string& name() const override { return m_name; }
  const Ed25519PublicKey& public_key() const override { return m_key.public_key; }
  Result<Ed25519Signature> sign(std::span<const std::uint8_t> message) const override;

private:
  FileCheckpointSigner(std::string name, const crypto::Ed25519KeyPair& key)
      : m_name(std::move(name)), m_key(key) {}
  std::string m_name;
  crypto::Ed25519KeyPair m_key;
};

} // namespace cordon::ledger

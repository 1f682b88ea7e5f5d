#pragma once

#include <string>
#include <string_view>

#include "common/error.h"
#include "common/secure_bytes.h"

namespace cordon::secretsd {

// How the vault's key encryption key (KEK) is kept at rest (DESIGN.md §8). `status` reports it
// plainly; key_file is for development only and says so.
enum class KekCustodyKind { tpm, credential, key_file };

std::string_view kek_custody_name(KekCustodyKind kind); // "tpm", "credential", "key_file"

// The size of the KEK: an AES-256 key.
inline constexpr std::size_t kek_bytes = 32;

// One way of keeping the KEK. Implementations: TpmKek (sealed to a TPM 2.0), CredentialKek (a
// systemd credential), KeyFileKek (a 0600 file). Not thread-safe; secretsd calls them from its
// start-up and shred paths only.
class KekCustody {
public:
  virtual ~KekCustody() = default;
  virtual KekCustodyKind kind() const = 0;
  // One line for `status`: the custody and where the KEK lives, never the KEK.
  virtual std::string describe() const = 0;
  // The KEK (kek_bytes), creating and protecting a new random one if none exists yet.
  // Fails closed with a clear message when the KEK exists but cannot be recovered (TPM absent,
  // PCRs changed, file damaged): never silently creates a new one over an old one.
  virtual Result<SecureBytes> load_or_create() = 0;
  // Destroys the KEK irrecoverably: afterwards no copy of the at-rest form (sealed blob, file),
  // even one saved beforehand, yields it. Idempotent.
  virtual Result<void> shred() = 0;
};

} // namespace cordon::secretsd

#pragma once

// The TPM 2.0 commands TpmKek is made of: templates, sessions, PolicyPCR, the storage parent,
// sealing and unsealing. Internal to secretsd/kek.
#include <cstdint>
#include <optional>
#include <vector>

#include "common/encoding.h"
#include "common/error.h"
#include "common/secure_bytes.h"
#include "secretsd/kek/tpm_blob.h"
#include "secretsd/kek/tpm_connection.h"

namespace cordon::secretsd::tpm {

// The template of the owner primary and of Cordon's storage parent: the TCG's ECC P-256 storage
// key (restricted decryption, AES-128-CFB for its children), without an authorization value.
TPM2B_PUBLIC storage_key_template();

// A sealed data object: fixed to this TPM and parent, noDA (its authorization is empty or a
// policy, so there is no secret to guess and no reason to let failures lock the TPM out), usable
// with an empty password only when it has no policy.
TPM2B_PUBLIC sealed_object_template(const TPM2B_DIGEST& policy);

Result<Bytes> name_of(const Connection& tpm, ESYS_TR object);

// The object at a persistent handle, if there is one.
Result<std::optional<TpmHandle>> persistent_object(const Connection& tpm, std::uint32_t handle);

Result<void> evict(const Connection& tpm, TpmHandle& persistent, std::uint32_t handle);

// A session whose key is salted to `salt_key` and that can encrypt parameters with AES-128-CFB;
// a trial session has neither.
Result<TpmHandle> start_session(const Connection& tpm, TPM2_SE type, ESYS_TR salt_key);

Result<void> set_session_attributes(const Connection& tpm, const TpmHandle& session,
                                    TPMA_SESSION attributes);

Result<void> policy_pcr(const Connection& tpm, const TpmHandle& session,
                        const std::vector<unsigned>& pcrs);

// The policy digest of PolicyPCR over the current values of `pcrs` (empty for none).
Result<TPM2B_DIGEST> pcr_policy_digest(const Connection& tpm, const std::vector<unsigned>& pcrs);

Result<TpmHandle> create_owner_primary(const Connection& tpm);

// A new storage parent under a transient primary, loaded as a transient object. Its private part
// lives only in this function's ESYS output and is wiped with it.
Result<TpmHandle> create_storage_parent(const Connection& tpm);

Result<TpmHandle> make_persistent(const Connection& tpm, const TpmHandle& transient,
                                  std::uint32_t handle);

// 32 bytes of the TPM's randomness XOR 32 of OpenSSL's: as strong as the better source. The
// TPM's part crosses the bus in the clear; OpenSSL's never leaves this process.
Result<SecureBytes> random_kek(const Connection& tpm);

// Seals `kek` under the persistent parent. The sensitive data travels encrypted: the
// authorization session is salted to the parent and decrypts the first command parameter.
Result<SealedBlob> seal(const Connection& tpm, const TpmHandle& parent, const SecureBytes& kek,
                        const std::vector<unsigned>& pcrs);

Result<TpmHandle> load(const Connection& tpm, const TpmHandle& parent, const SealedBlob& blob,
                       const std::filesystem::path& path, std::uint32_t handle);

// The sealed data. The session is salted to the parent and encrypts the response, so the KEK
// crosses the TPM interface encrypted; with PCRs it is the policy session that satisfies them.
Result<SecureBytes> unseal(const Connection& tpm, const TpmHandle& parent, const TpmHandle& object,
                           const std::vector<unsigned>& pcrs);

} // namespace cordon::secretsd::tpm

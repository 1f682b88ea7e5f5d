#include "secretsd/kek/tpm_commands.h"

#include <cstring>

#include <tss2/tss2_mu.h>

#include "secretsd/kek/kek_custody.h"

namespace cordon::secretsd::tpm {

// ---------------------------------------------------------------------------------------------
// TPM commands

// The template of the owner primary and of Cordon's storage parent: the TCG's ECC P-256 storage
// key (restricted decryption, AES-128-CFB for its children), without an authorization value.
TPM2B_PUBLIC storage_key_template() {
  TPM2B_PUBLIC key{};
  auto& area = key.publicArea;
  area.type = TPM2_ALG_ECC;
  area.nameAlg = TPM2_ALG_SHA256;
  area.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                          TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
                          TPMA_OBJECT_NODA | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT;
  auto& ecc = area.parameters.eccDetail;
  ecc.symmetric.algorithm = TPM2_ALG_AES;
  ecc.symmetric.keyBits.aes = 128;
  ecc.symmetric.mode.aes = TPM2_ALG_CFB;
  ecc.scheme.scheme = TPM2_ALG_NULL;
  ecc.curveID = TPM2_ECC_NIST_P256;
  ecc.kdf.scheme = TPM2_ALG_NULL;
  return key;
}

// A sealed data object: fixed to this TPM and parent, noDA (its authorization is empty or a
// policy, so there is no secret to guess and no reason to let failures lock the TPM out), usable
// with an empty password only when it has no policy.
TPM2B_PUBLIC sealed_object_template(const TPM2B_DIGEST& policy) {
  TPM2B_PUBLIC object{};
  auto& area = object.publicArea;
  area.type = TPM2_ALG_KEYEDHASH;
  area.nameAlg = TPM2_ALG_SHA256;
  area.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_NODA;
  if (policy.size == 0) area.objectAttributes |= TPMA_OBJECT_USERWITHAUTH;
  area.authPolicy = policy;
  area.parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_NULL;
  return object;
}

Result<Bytes> name_of(const Connection& tpm, ESYS_TR object) {
  EsysOutput<TPM2B_NAME> name;
  const TSS2_RC rc = Esys_TR_GetName(tpm.esys(), object, name.out());
  if (rc != TSS2_RC_SUCCESS) return tl::unexpected(tpm.failure("report an object's name", rc));
  return Bytes(name->name, name->name + name->size);
}

// The object at a persistent handle, if there is one.
Result<std::optional<TpmHandle>> persistent_object(const Connection& tpm, std::uint32_t handle) {
  TPMI_YES_NO more = TPM2_NO;
  EsysOutput<TPMS_CAPABILITY_DATA> handles;
  TSS2_RC rc = Esys_GetCapability(tpm.esys(), ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                  TPM2_CAP_HANDLES, handle, 1, &more, handles.out());
  if (rc != TSS2_RC_SUCCESS) return tl::unexpected(tpm.failure("list its persistent handles", rc));
  if (handles->data.handles.count == 0 || handles->data.handles.handle[0] != handle) {
    return std::optional<TpmHandle>();
  }
  ESYS_TR object = ESYS_TR_NONE;
  rc = Esys_TR_FromTPMPublic(tpm.esys(), handle, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &object);
  if (rc != TSS2_RC_SUCCESS) {
    return tl::unexpected(tpm.failure("read the public area at " + handle_text(handle), rc));
  }
  return std::optional<TpmHandle>(TpmHandle(tpm.esys(), object, TpmHandle::Disposal::close));
}

Result<void> evict(const Connection& tpm, TpmHandle& persistent, std::uint32_t handle) {
  ESYS_TR none = ESYS_TR_NONE;
  const TSS2_RC rc = Esys_EvictControl(tpm.esys(), ESYS_TR_RH_OWNER, persistent.get(),
                                       ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, handle, &none);
  if (rc != TSS2_RC_SUCCESS) {
    return tl::unexpected(tpm.failure("evict Cordon's storage key at " + handle_text(handle), rc));
  }
  persistent.reset(); // ESYS keeps a record of the evicted object; close it
  return ok();
}

// A session whose key is salted to `salt_key` and that can encrypt parameters with AES-128-CFB;
// a trial session has neither.
Result<TpmHandle> start_session(const Connection& tpm, TPM2_SE type, ESYS_TR salt_key) {
  TPMT_SYM_DEF symmetric{};
  if (type == TPM2_SE_TRIAL) {
    symmetric.algorithm = TPM2_ALG_NULL;
  } else {
    symmetric.algorithm = TPM2_ALG_AES;
    symmetric.keyBits.aes = 128;
    symmetric.mode.aes = TPM2_ALG_CFB;
  }
  ESYS_TR session = ESYS_TR_NONE;
  const TSS2_RC rc =
      Esys_StartAuthSession(tpm.esys(), salt_key, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                            ESYS_TR_NONE, nullptr, type, &symmetric, TPM2_ALG_SHA256, &session);
  if (rc != TSS2_RC_SUCCESS) {
    return tl::unexpected(tpm.failure("start an authorization session", rc));
  }
  return TpmHandle(tpm.esys(), session, TpmHandle::Disposal::flush);
}

Result<void> set_session_attributes(const Connection& tpm, const TpmHandle& session,
                                    TPMA_SESSION attributes) {
  const TSS2_RC rc = Esys_TRSess_SetAttributes(tpm.esys(), session.get(), attributes, 0xFF);
  if (rc != TSS2_RC_SUCCESS) return tl::unexpected(tpm.failure("set session attributes", rc));
  return ok();
}

Result<void> policy_pcr(const Connection& tpm, const TpmHandle& session,
                        const std::vector<unsigned>& pcrs) {
  const TPM2B_DIGEST current{}; // empty: the TPM takes the PCRs' current values
  const TPML_PCR_SELECTION selection = pcr_selection(pcrs);
  const TSS2_RC rc = Esys_PolicyPCR(tpm.esys(), session.get(), ESYS_TR_NONE, ESYS_TR_NONE,
                                    ESYS_TR_NONE, &current, &selection);
  if (rc != TSS2_RC_SUCCESS) return tl::unexpected(tpm.failure("apply a PCR policy", rc));
  return ok();
}

// The policy digest of PolicyPCR over the current values of `pcrs` (empty for none).
Result<TPM2B_DIGEST> pcr_policy_digest(const Connection& tpm, const std::vector<unsigned>& pcrs) {
  if (pcrs.empty()) return TPM2B_DIGEST{};
  const auto trial = CORDON_TRY(start_session(tpm, TPM2_SE_TRIAL, ESYS_TR_NONE));
  CORDON_TRY_VOID(policy_pcr(tpm, trial, pcrs));
  EsysOutput<TPM2B_DIGEST> digest;
  const TSS2_RC rc = Esys_PolicyGetDigest(tpm.esys(), trial.get(), ESYS_TR_NONE, ESYS_TR_NONE,
                                          ESYS_TR_NONE, digest.out());
  if (rc != TSS2_RC_SUCCESS) {
    return tl::unexpected(tpm.failure("compute the PCR policy digest", rc));
  }
  return *digest;
}

Result<TpmHandle> create_owner_primary(const Connection& tpm) {
  const TPM2B_SENSITIVE_CREATE sensitive{};
  const TPM2B_PUBLIC key = storage_key_template();
  const TPM2B_DATA outside_info{};
  const TPML_PCR_SELECTION creation_pcrs{};
  ESYS_TR primary = ESYS_TR_NONE;
  const TSS2_RC rc = Esys_CreatePrimary(
      tpm.esys(), ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &sensitive, &key,
      &outside_info, &creation_pcrs, &primary, nullptr, nullptr, nullptr, nullptr);
  if (rc != TSS2_RC_SUCCESS) return tl::unexpected(tpm.failure("create the owner primary key", rc));
  return TpmHandle(tpm.esys(), primary, TpmHandle::Disposal::flush);
}

// A new storage parent under a transient primary, loaded as a transient object. Its private part
// lives only in this function's ESYS output and is wiped with it.
Result<TpmHandle> create_storage_parent(const Connection& tpm) {
  const auto primary = CORDON_TRY(create_owner_primary(tpm));
  const TPM2B_SENSITIVE_CREATE sensitive{};
  const TPM2B_PUBLIC key = storage_key_template();
  const TPM2B_DATA outside_info{};
  const TPML_PCR_SELECTION creation_pcrs{};
  EsysOutput<TPM2B_PRIVATE> private_area;
  EsysOutput<TPM2B_PUBLIC> public_area;
  TSS2_RC rc = Esys_Create(tpm.esys(), primary.get(), ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                           &sensitive, &key, &outside_info, &creation_pcrs, private_area.out(),
                           public_area.out(), nullptr, nullptr, nullptr);
  if (rc != TSS2_RC_SUCCESS) return tl::unexpected(tpm.failure("create Cordon's storage key", rc));
  ESYS_TR parent = ESYS_TR_NONE;
  rc = Esys_Load(tpm.esys(), primary.get(), ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                 private_area.operator->(), public_area.operator->(), &parent);
  if (rc != TSS2_RC_SUCCESS) return tl::unexpected(tpm.failure("load Cordon's storage key", rc));
  return TpmHandle(tpm.esys(), parent, TpmHandle::Disposal::flush);
}

Result<TpmHandle> make_persistent(const Connection& tpm, const TpmHandle& transient,
                                  std::uint32_t handle) {
  ESYS_TR persistent = ESYS_TR_NONE;
  const TSS2_RC rc =
      Esys_EvictControl(tpm.esys(), ESYS_TR_RH_OWNER, transient.get(), ESYS_TR_PASSWORD,
                        ESYS_TR_NONE, ESYS_TR_NONE, handle, &persistent);
  if (rc != TSS2_RC_SUCCESS) {
    return tl::unexpected(
        tpm.failure("make Cordon's storage key persistent at " + handle_text(handle), rc));
  }
  return TpmHandle(tpm.esys(), persistent, TpmHandle::Disposal::close);
}

// 32 bytes of the TPM's randomness XOR 32 of OpenSSL's: as strong as the better source. The
// TPM's part crosses the bus in the clear; OpenSSL's never leaves this process.
Result<SecureBytes> random_kek(const Connection& tpm) {
  auto kek = CORDON_TRY(SecureBytes::allocate(kek_bytes));
  std::size_t filled = 0;
  while (filled < kek_bytes) {
    EsysOutput<TPM2B_DIGEST> random;
    const TSS2_RC rc = Esys_GetRandom(tpm.esys(), ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                      static_cast<UINT16>(kek_bytes - filled), random.out());
    if (rc != TSS2_RC_SUCCESS) return tl::unexpected(tpm.failure("produce random bytes", rc));
    if (random->size == 0) return fail(Errc::crypto, "the TPM returned no random bytes");
    const std::size_t take = std::min<std::size_t>(random->size, kek_bytes - filled);
    std::memcpy(kek.data() + filled, random->buffer, take);
    filled += take;
  }
  auto mixed = CORDON_TRY(crypto::random_bytes(kek_bytes));
  for (std::size_t i = 0; i < kek_bytes; ++i) kek.data()[i] ^= mixed[i];
  crypto::wipe(mixed);
  return kek;
}

// Seals `kek` under the persistent parent. The sensitive data travels encrypted: the
// authorization session is salted to the parent and decrypts the first command parameter.
Result<SealedBlob> seal(const Connection& tpm, const TpmHandle& parent, const SecureBytes& kek,
                        const std::vector<unsigned>& pcrs) {
  const TPM2B_DIGEST policy = CORDON_TRY(pcr_policy_digest(tpm, pcrs));
  const auto session = CORDON_TRY(start_session(tpm, TPM2_SE_HMAC, parent.get()));
  CORDON_TRY_VOID(
      set_session_attributes(tpm, session, TPMA_SESSION_CONTINUESESSION | TPMA_SESSION_DECRYPT));
  TPM2B_SENSITIVE_CREATE sensitive{};
  sensitive.sensitive.data.size = static_cast<UINT16>(kek.size());
  std::memcpy(sensitive.sensitive.data.buffer, kek.data(), kek.size());
  const TPM2B_PUBLIC object = sealed_object_template(policy);
  const TPM2B_DATA outside_info{};
  const TPML_PCR_SELECTION creation_pcrs{};
  EsysOutput<TPM2B_PRIVATE> private_area;
  EsysOutput<TPM2B_PUBLIC> public_area;
  const TSS2_RC rc = Esys_Create(tpm.esys(), parent.get(), session.get(), ESYS_TR_NONE,
                                 ESYS_TR_NONE, &sensitive, &object, &outside_info, &creation_pcrs,
                                 private_area.out(), public_area.out(), nullptr, nullptr, nullptr);
  wipe_object(sensitive);
  if (rc != TSS2_RC_SUCCESS) return tl::unexpected(tpm.failure("seal the KEK", rc));
  SealedBlob blob;
  blob.pcrs = pcr_selection(pcrs);
  blob.public_area = *public_area;
  blob.private_area = *private_area;
  return blob;
}

Result<TpmHandle> load(const Connection& tpm, const TpmHandle& parent, const SealedBlob& blob,
                       const std::filesystem::path& path, std::uint32_t handle) {
  ESYS_TR object = ESYS_TR_NONE;
  const TSS2_RC rc = Esys_Load(tpm.esys(), parent.get(), ESYS_TR_PASSWORD, ESYS_TR_NONE,
                               ESYS_TR_NONE, &blob.private_area, &blob.public_area, &object);
  if (rc != TSS2_RC_SUCCESS && is_parameter_failure(rc)) {
    return fail(
        Errc::integrity,
        fmt::format(
            "the sealed KEK in {} does not load under the storage key at {} (the file is damaged "
            "or was sealed under another key): {}",
            path.string(), handle_text(handle), decode(rc)));
  }
  if (rc != TSS2_RC_SUCCESS) return tl::unexpected(tpm.failure("load the sealed KEK", rc));
  return TpmHandle(tpm.esys(), object, TpmHandle::Disposal::flush);
}

// The sealed data. The session is salted to the parent and encrypts the response, so the KEK
// crosses the TPM interface encrypted; with PCRs it is the policy session that satisfies them.
Result<SecureBytes> unseal(const Connection& tpm, const TpmHandle& parent, const TpmHandle& object,
                           const std::vector<unsigned>& pcrs) {
  const auto session =
      CORDON_TRY(start_session(tpm, pcrs.empty() ? TPM2_SE_HMAC : TPM2_SE_POLICY, parent.get()));
  if (!pcrs.empty()) CORDON_TRY_VOID(policy_pcr(tpm, session, pcrs));
  CORDON_TRY_VOID(
      set_session_attributes(tpm, session, TPMA_SESSION_CONTINUESESSION | TPMA_SESSION_ENCRYPT));
  EsysOutput<TPM2B_SENSITIVE_DATA> data;
  const TSS2_RC rc =
      Esys_Unseal(tpm.esys(), object.get(), session.get(), ESYS_TR_NONE, ESYS_TR_NONE, data.out());
  if (rc != TSS2_RC_SUCCESS) {
    const TSS2_RC code = tpm_code(rc);
    if (code == TPM2_RC_POLICY_FAIL || code == TPM2_RC_PCR_CHANGED) {
      return fail(
          Errc::permission_denied,
          fmt::format("the TPM refused to unseal the KEK: {} no longer {} the {} it was sealed to",
                      pcr_phrase(pcrs), pcrs.size() == 1 ? "holds" : "hold",
                      pcrs.size() == 1 ? "value" : "values"));
    }
    return tl::unexpected(tpm.failure("unseal the KEK", rc));
  }
  if (data->size != kek_bytes) {
    return fail(Errc::integrity,
                fmt::format("the TPM unsealed {} bytes, not a {}-byte KEK", data->size, kek_bytes));
  }
  return SecureBytes::copy_of(std::span<const std::uint8_t>(data->buffer, data->size));
}


} // namespace cordon::secretsd::tpm

#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.h"
#include "common/secure_bytes.h"
#include "secretsd/kek/kek_custody.h"

namespace cordon::secretsd {

struct TpmKekOptions {
  // The tpm2-tss TCTI: "device:/dev/tpmrm0" in production, "swtpm:host=...,port=..." in tests.
  std::string tcti = "device:/dev/tpmrm0";
  // secretsd's state directory; it must exist. TpmKek keeps two files in it (see TpmKek).
  std::filesystem::path directory;
  // The persistent handle, in the owner range 0x81000000-0x817FFFFF, of Cordon's storage parent.
  std::uint32_t parent_handle = 0x81000C0D;
  // SHA-256 PCR indices (0-23) the KEK is bound to; empty: no PCR policy. Order and repeats do
  // not matter.
  std::vector<unsigned> pcrs;
};

// The KEK sealed to a TPM 2.0 (DESIGN.md §8), with tpm2-tss ESYS.
//
// At rest: a storage parent (a restricted ECC P-256 decryption key) lives only inside the TPM, at
// the persistent handle `parent_handle`. It was made with TPM2_Create under a transient owner
// primary and made persistent; its private part was never written anywhere, so once it is
// evicted nothing can bring it back. (A primary would not do: it is re-derived from the owner
// seed and its template, so a blob sealed under one would stay loadable after "shredding".)
// The 32-byte KEK (TPM randomness XOR OpenSSL randomness) is a keyedhash sealed data object
// under that parent, with a PolicyPCR policy over `pcrs` when they are set (userWithAuth clear)
// and an empty authorization value otherwise. The KEK crosses the TPM interface only inside
// sessions salted to the parent, with parameter encryption, so a bus sniffer does not see it.
//
// Files in `directory`, each 0600, replaced atomically (temporary, fsync, rename, directory fsync):
//   kek.tpm         the sealed object: a magic and version, the sealed PCR selection
//                   (TPML_PCR_SELECTION), TPM2B_PUBLIC and TPM2B_PRIVATE, marshalled by Tss2_MU.
//                   The selection is kept so that a configuration that no longer matches the seal
//                   is reported as such rather than as changed PCR values.
//   kek.tpm-parent  the parent's TPM2B_NAME, so that an object at `parent_handle` is only ever
//                   taken for Cordon's parent (used, or evicted) when its name matches.
//
// load_or_create(), by state (blob = kek.tpm, name = kek.tpm-parent, handle = parent_handle):
//   - blob present, handle holds the named parent (or there is no name file and the blob loads
//     under the handle): loads and unseals.
//   - blob present, handle empty: Errc::integrity, "... was the TPM cleared? ...".
//   - blob present, handle holds an object whose name is not the recorded one: Errc::integrity.
//   - blob absent, handle empty: creates the parent, the KEK and both files.
//   - blob absent, handle holds the named parent: a leftover of an interrupted creation (no blob
//     ever referenced it); evicts it and creates anew.
//   - blob absent, handle occupied but not by the named parent (or there is no name file):
//     Errc::conflict; someone else's key is never evicted.
// Other failures: the TPM cannot be reached, Errc::unavailable; the PCRs no longer hold the
// sealed values, Errc::permission_denied naming the PCRs; a damaged blob or name file,
// Errc::integrity; `pcrs` differs from the sealed selection, Errc::conflict. A failed unseal never
// replaces the blob. Messages never contain key bytes.
//
// No TPM connection is held between calls: each call connects and finalizes ESYS and the TCTI
// before it returns, so exclusive transports (/dev/tpm0, swtpm's single connection) stay free.
// Not thread-safe (KekCustody).
class TpmKek final : public KekCustody {
public:
  static constexpr std::string_view blob_file_name = "kek.tpm";
  static constexpr std::string_view parent_name_file_name = "kek.tpm-parent";

  // Checks the options and that the TPM answers a first command. Errc::invalid_argument for bad
  // options (a PCR above 23, a handle outside the owner persistent range, a missing directory);
  // Errc::unavailable, "cannot reach the TPM at <tcti>: <reason>", when the TPM does not answer.
  // Looks at no files and at no persistent handle: that is load_or_create()'s job, so that
  // shred() works even when the KEK cannot be recovered.
  static Result<std::unique_ptr<TpmKek>> open(TpmKekOptions options);

  KekCustodyKind kind() const override { return KekCustodyKind::tpm; }
  // "tpm (<tcti>; parent 0x81000c0d; bound to PCR 7)", "...; bound to PCRs 7,11)" or
  // "...; not bound to PCRs)".
  std::string describe() const override;
  Result<SecureBytes> load_or_create() override;
  // Evicts the parent at `parent_handle` if it is Cordon's (its name matches kek.tpm-parent, or
  // kek.tpm loads under it), then overwrites kek.tpm with random bytes, fsyncs and unlinks it,
  // and unlinks kek.tpm-parent last. The eviction is what makes this irrecoverable: a saved copy
  // of kek.tpm cannot be loaded without the parent. An object at the handle that is not Cordon's
  // is left alone (ours cannot be there then). If the eviction fails, no file is touched, so a
  // retry can still find the parent. Idempotent.
  Result<void> shred() override;

  const TpmKekOptions& options() const { return m_options; }
  std::filesystem::path blob_path() const { return m_options.directory / blob_file_name; }
  std::filesystem::path parent_name_path() const {
    return m_options.directory / parent_name_file_name;
  }

private:
  explicit TpmKek(TpmKekOptions options) : m_options(std::move(options)) {}

  TpmKekOptions m_options; // pcrs sorted, without repeats
};

} // namespace cordon::secretsd

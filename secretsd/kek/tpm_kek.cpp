#include "secretsd/kek/tpm_kek.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <optional>
#include <span>
#include <system_error>

#include <fmt/format.h>
#include <tss2/tss2_mu.h>

#include "common/crypto.h"
#include "common/encoding.h"
#include "common/files.h"
#include "secretsd/kek/tpm_blob.h"
#include "secretsd/kek/tpm_commands.h"
#include "secretsd/kek/tpm_connection.h"

namespace cordon::secretsd {
namespace {

using namespace tpm;

// Cordon's files in the state directory.
struct KekPaths {
  std::filesystem::path blob;
  std::filesystem::path parent_name;
};

// kek.tpm-parent's content: the name as a marshalled TPM2B_NAME.
Result<Bytes> marshal_name(std::span<const std::uint8_t> name_bytes) {
  TPM2B_NAME name{};
  if (name_bytes.size() > sizeof(name.name)) {
    return fail(Errc::internal, "the parent's name is too long");
  }
  name.size = static_cast<UINT16>(name_bytes.size());
  std::copy(name_bytes.begin(), name_bytes.end(), name.name);
  Bytes bytes(sizeof(TPM2B_NAME));
  std::size_t offset = 0;
  const TSS2_RC rc = Tss2_MU_TPM2B_NAME_Marshal(&name, bytes.data(), bytes.size(), &offset);
  if (rc != TSS2_RC_SUCCESS) {
    return fail(Errc::internal, "cannot marshal the parent's name: " + decode(rc));
  }
  bytes.resize(offset);
  return bytes;
}

// Whether `blob` loads under `parent`: the TPM checks the blob's integrity with a key only its
// parent holds, so success proves the parent is the one the blob was sealed under.
bool loads_under(const Connection& tpm, const TpmHandle& parent, const SealedBlob& blob,
                 const KekPaths& paths, std::uint32_t handle) {
  return load(tpm, parent, blob, paths.blob, handle).has_value();
}

// Creates the storage parent, records its name, makes it persistent, then seals a new KEK under
// it and writes kek.tpm. The name is recorded before the parent becomes persistent, so a parent
// of ours at the handle always has a matching kek.tpm-parent; a crash before kek.tpm is written
// leaves a parent that the next call recognises as a leftover. The new blob is loaded and
// unsealed once before the KEK is returned, so a KEK that cannot be recovered is never used.
Result<SecureBytes> create_kek(const Connection& tpm, const TpmKekOptions& options,
                               const KekPaths& paths) {
  TpmHandle parent;
  {
    const auto transient = CORDON_TRY(create_storage_parent(tpm));
    const auto name = CORDON_TRY(name_of(tpm, transient.get()));
    const auto name_file = CORDON_TRY(marshal_name(name));
    CORDON_TRY_VOID(replace_file(paths.parent_name, name_file));
    parent = CORDON_TRY(make_persistent(tpm, transient, options.parent_handle));
  }
  auto kek = CORDON_TRY(random_kek(tpm));
  const auto blob = CORDON_TRY(seal(tpm, parent, kek, options.pcrs));
  const auto blob_file = CORDON_TRY(marshal_blob(blob));
  CORDON_TRY_VOID(replace_file(paths.blob, blob_file));

  const auto verified = [&]() -> Result<void> {
    const auto object = CORDON_TRY(load(tpm, parent, blob, paths.blob, options.parent_handle));
    const auto unsealed = CORDON_TRY(unseal(tpm, parent, object, options.pcrs));
    if (!crypto::equal_constant_time(unsealed.span(), kek.span())) {
      return fail(Errc::crypto, "the TPM unsealed different bytes than were sealed");
    }
    return ok();
  }();
  if (!verified) {
    // Nothing was ever encrypted under this KEK; without kek.tpm the parent is a leftover.
    ::unlink(paths.blob.c_str());
    (void)sync_directory(paths.blob.parent_path());
    return fail(verified.error().code,
                "the newly sealed KEK did not unseal, so it was discarded: " +
                    verified.error().message);
  }
  return kek;
}

// The KEK from an existing kek.tpm: the "blob present" rows of the table in tpm_kek.h.
// `renamed`: the object at the handle is not the one kek.tpm-parent names.
Result<SecureBytes> recover_kek(const Connection& tpm, const TpmKekOptions& options,
                                const KekPaths& paths, const SealedBlob& blob,
                                const std::optional<TpmHandle>& parent, bool renamed) {
  const std::string handle = handle_text(options.parent_handle);
  if (!parent) {
    return fail(Errc::integrity,
                fmt::format("the TPM no longer holds Cordon's storage key at {} (was the TPM "
                            "cleared?); the KEK sealed in {} cannot be recovered",
                            handle, paths.blob.string()));
  }
  if (renamed) {
    return fail(Errc::integrity,
                fmt::format("the object at {} is not the storage key the KEK was sealed under (its "
                            "name differs from the one in {}; was the TPM cleared and the handle "
                            "reused?); the KEK cannot be recovered",
                            handle, paths.parent_name.string()));
  }
  const auto sealed_pcrs = *pcr_indices(blob.pcrs);
  if (sealed_pcrs != options.pcrs) {
    return fail(Errc::conflict,
                fmt::format("the KEK in {} is {} but secretsd is configured for {}; configure the "
                            "binding it was sealed with",
                            paths.blob.string(),
                            sealed_pcrs.empty() ? "not bound to PCRs"
                                                : "bound to " + pcr_phrase(sealed_pcrs),
                            options.pcrs.empty() ? "no PCRs" : pcr_phrase(options.pcrs)));
  }
  const auto object = CORDON_TRY(load(tpm, *parent, blob, paths.blob, options.parent_handle));
  return unseal(tpm, *parent, object, options.pcrs);
}

// Someone else's object occupies the handle and there is no blob of ours.
Error foreign_object_error(const TpmKekOptions& options, const KekPaths& paths,
                           bool has_name_file) {
  const std::string handle = handle_text(options.parent_handle);
  const std::string why = has_name_file
                              ? "its name differs from the one in " + paths.parent_name.string()
                              : "there is no " + paths.parent_name.string();
  return Error{Errc::conflict,
               fmt::format("the persistent handle {} holds an object that is not Cordon's storage "
                           "key ({}); refusing to evict someone else's key: evict it "
                           "(tpm2_evictcontrol -C o -c {}) or configure another parent handle",
                           handle, why, handle)};
}

// Whether the object at the handle is Cordon's parent, for shred(): by the recorded name, or
// failing that by the blob loading under it. Files that cannot be read count as absent, except
// that a damaged or unreadable name file with no loadable blob leaves the question open, which
// is an error: a shred must not report success while a parent of ours may remain.
Result<bool> is_our_parent(const Connection& tpm, const TpmHandle& parent,
                           const TpmKekOptions& options, const KekPaths& paths) {
  const auto recorded_name = read_parent_name(paths.parent_name);
  if (recorded_name && *recorded_name) {
    return CORDON_TRY(name_of(tpm, parent.get())) == **recorded_name;
  }
  const auto blob = read_blob(paths.blob);
  if (blob && *blob && loads_under(tpm, parent, **blob, paths, options.parent_handle)) return true;
  if (recorded_name) return false; // no name file, no loadable blob: nothing of ours is there
  return fail(
      Errc::integrity,
      fmt::format(
          "cannot tell whether the object at {} is Cordon's storage key ({}); nothing was "
          "shredded: inspect it with tpm2_readpublic -c {} and evict it with tpm2_evictcontrol "
          "if it is",
          handle_text(options.parent_handle), recorded_name.error().message,
          handle_text(options.parent_handle)));
}

} // namespace

// ---------------------------------------------------------------------------------------------
// TpmKek

Result<std::unique_ptr<TpmKek>> TpmKek::open(TpmKekOptions options) {
  if (options.tcti.empty()) return fail(Errc::invalid_argument, "the TPM's TCTI is empty");
  std::error_code error;
  if (options.directory.empty() || !std::filesystem::is_directory(options.directory, error)) {
    return fail(Errc::invalid_argument,
                "the KEK directory '" + options.directory.string() + "' is not a directory");
  }
  if (options.parent_handle < owner_persistent_first ||
      options.parent_handle > owner_persistent_last) {
    return fail(Errc::invalid_argument,
                fmt::format("the parent handle {} is not an owner persistent handle ({}-{})",
                            handle_text(options.parent_handle), handle_text(owner_persistent_first),
                            handle_text(owner_persistent_last)));
  }
  std::sort(options.pcrs.begin(), options.pcrs.end());
  options.pcrs.erase(std::unique(options.pcrs.begin(), options.pcrs.end()), options.pcrs.end());
  if (!options.pcrs.empty() && options.pcrs.back() > max_pcr_index) {
    return fail(Errc::invalid_argument,
                fmt::format("PCR {} does not exist (a TPM 2.0 has PCRs 0-{})", options.pcrs.back(),
                            max_pcr_index));
  }
  CORDON_TRY_VOID(Connection::connect(options.tcti));
  return std::unique_ptr<TpmKek>(new TpmKek(std::move(options)));
}

std::string TpmKek::describe() const {
  const std::string binding =
      m_options.pcrs.empty() ? "not bound to PCRs" : "bound to " + pcr_phrase(m_options.pcrs);
  return fmt::format("tpm ({}; parent {}; {})", m_options.tcti,
                     handle_text(m_options.parent_handle), binding);
}

Result<SecureBytes> TpmKek::load_or_create() {
  const KekPaths paths{blob_path(), parent_name_path()};
  const auto tpm = CORDON_TRY(Connection::connect(m_options.tcti));
  const auto blob = CORDON_TRY(read_blob(paths.blob));
  const auto recorded_name = CORDON_TRY(read_parent_name(paths.parent_name));
  auto parent = CORDON_TRY(persistent_object(*tpm, m_options.parent_handle));
  bool named_parent = false;
  if (parent && recorded_name) {
    named_parent = CORDON_TRY(name_of(*tpm, parent->get())) == *recorded_name;
  }

  if (blob) {
    return recover_kek(*tpm, m_options, paths, *blob, parent, recorded_name && !named_parent);
  }
  if (parent) {
    if (!named_parent) {
      return tl::unexpected(foreign_object_error(m_options, paths, recorded_name.has_value()));
    }
    // A leftover of a creation interrupted before kek.tpm was written: no kept blob refers to it.
    CORDON_TRY_VOID(evict(*tpm, *parent, m_options.parent_handle));
    parent.reset();
  }
  return create_kek(*tpm, m_options, paths);
}

Result<void> TpmKek::shred() {
  const KekPaths paths{blob_path(), parent_name_path()};
  const auto tpm = CORDON_TRY(Connection::connect(m_options.tcti));
  auto parent = CORDON_TRY(persistent_object(*tpm, m_options.parent_handle));
  if (parent && CORDON_TRY(is_our_parent(*tpm, *parent, m_options, paths))) {
    CORDON_TRY_VOID(evict(*tpm, *parent, m_options.parent_handle));
  }
  parent.reset();
  CORDON_TRY_VOID(shred_file(paths.blob));
  CORDON_TRY_VOID(shred_file(paths.parent_name));
  return ok();
}

} // namespace cordon::secretsd

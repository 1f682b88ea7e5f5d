#pragma once

// TpmKek's files: the sealed blob kek.tpm (magic, PCR selection, TPM2B_PUBLIC, TPM2B_PRIVATE,
// marshalled by Tss2_MU) and the parent's name kek.tpm-parent, written atomically with mode
// 0600. Internal to secretsd/kek.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <tss2/tss2_tpm2_types.h>

#include "common/encoding.h"
#include "common/error.h"

namespace cordon::secretsd::tpm {

struct SealedBlob {
  TPML_PCR_SELECTION pcrs{};
  TPM2B_PUBLIC public_area{};
  TPM2B_PRIVATE private_area{};
};

Result<void> sync_directory(const std::filesystem::path& directory);

Result<void> write_all(int fd, std::span<const std::uint8_t> bytes, const std::string& name);

// Replaces `path` with `bytes`: a 0600 temporary beside it, written and fsynced, renamed over
// it, and the directory fsynced, so after a crash the file holds the old or the new bytes.
Result<void> replace_file(const std::filesystem::path& path, std::span<const std::uint8_t> bytes);

// The whole of a small file, or nothing if it does not exist. Symlinks and non-regular files are
// refused.
Result<std::optional<Bytes>> read_optional_file(const std::filesystem::path& path);

TPML_PCR_SELECTION pcr_selection(const std::vector<unsigned>& pcrs);

// The SHA-256 PCR indices of a selection as written by pcr_selection(), or nothing if it is not
// of that form.
std::optional<std::vector<unsigned>> pcr_indices(const TPML_PCR_SELECTION& selection);

Result<Bytes> marshal_blob(const SealedBlob& blob);

Result<SealedBlob> unmarshal_blob(std::span<const std::uint8_t> bytes,
                                  const std::filesystem::path& path);

Result<std::optional<SealedBlob>> read_blob(const std::filesystem::path& path);

// The recorded parent name (the name's bytes, without the size prefix).
Result<std::optional<Bytes>> read_parent_name(const std::filesystem::path& path);

} // namespace cordon::secretsd::tpm

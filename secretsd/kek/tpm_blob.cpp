#include "secretsd/kek/tpm_blob.h"

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

#include "common/file_descriptor.h"
#include "secretsd/kek/tpm_connection.h"

namespace cordon::secretsd::tpm {

namespace {
// "CRDNKEK" and format version 1 at the start of kek.tpm.
constexpr std::array<std::uint8_t, 8> blob_magic{'C', 'R', 'D', 'N', 'K', 'E', 'K', 1};
// Far above any real blob (about 200 bytes); a larger file is not ours.
constexpr std::size_t max_file_bytes = 8192;
} // namespace

// ---------------------------------------------------------------------------------------------
// Files

Result<void> sync_directory(const std::filesystem::path& directory) {
  FileDescriptor fd(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0 || ::fsync(fd.get()) != 0) {
    return fail(Errc::io_error, "cannot sync " + directory.string() + ": " + errno_text(errno));
  }
  return ok();
}

Result<void> write_all(int fd, std::span<const std::uint8_t> bytes, const std::string& name) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t written = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) {
      return fail(Errc::io_error,
                  "cannot write " + name + ": " + errno_text(written < 0 ? errno : EIO));
    }
    done += static_cast<std::size_t>(written);
  }
  return ok();
}

// Replaces `path` with `bytes`: a 0600 temporary beside it, written and fsynced, renamed over
// it, and the directory fsynced, so after a crash the file holds the old or the new bytes.
Result<void> replace_file(const std::filesystem::path& path, std::span<const std::uint8_t> bytes) {
  const std::string temporary = path.string() + ".tmp." + std::to_string(::getpid());
  ::unlink(temporary.c_str()); // a leftover of a crashed process with our pid
  {
    FileDescriptor fd(
        ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (fd.get() < 0) {
      return fail(Errc::io_error, "cannot create " + temporary + ": " + errno_text(errno));
    }
    auto written = write_all(fd.get(), bytes, temporary);
    if (written && ::fsync(fd.get()) != 0) {
      written = fail(Errc::io_error, "cannot sync " + temporary + ": " + errno_text(errno));
    }
    if (!written) {
      ::unlink(temporary.c_str());
      return written;
    }
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    const int error = errno;
    ::unlink(temporary.c_str());
    return fail(Errc::io_error,
                "cannot rename " + temporary + " to " + path.string() + ": " + errno_text(error));
  }
  return sync_directory(path.parent_path());
}

// The whole of a small file, or nothing if it does not exist. Symlinks and non-regular files are
// refused.
Result<std::optional<Bytes>> read_optional_file(const std::filesystem::path& path) {
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return std::optional<Bytes>();
    if (errno == ELOOP) return fail(Errc::permission_denied, path.string() + " is a symlink");
    return fail(Errc::io_error, "cannot open " + path.string() + ": " + errno_text(errno));
  }
  struct stat status {};
  if (::fstat(fd.get(), &status) != 0) {
    return fail(Errc::io_error, "cannot stat " + path.string() + ": " + errno_text(errno));
  }
  if (!S_ISREG(status.st_mode)) {
    return fail(Errc::integrity, path.string() + " is not a regular file");
  }
  Bytes bytes(max_file_bytes + 1);
  std::size_t size = 0;
  while (size < bytes.size()) {
    const ssize_t got = ::read(fd.get(), bytes.data() + size, bytes.size() - size);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      return fail(Errc::io_error, "cannot read " + path.string() + ": " + errno_text(errno));
    }
    if (got == 0) break;
    size += static_cast<std::size_t>(got);
  }
  if (size > max_file_bytes) {
    return fail(Errc::integrity, fmt::format("{} is larger than {} bytes; it is not Cordon's",
                                             path.string(), max_file_bytes));
  }
  bytes.resize(size);
  return std::optional<Bytes>(std::move(bytes));
}


// ---------------------------------------------------------------------------------------------
// kek.tpm and kek.tpm-parent


TPML_PCR_SELECTION pcr_selection(const std::vector<unsigned>& pcrs) {
  TPML_PCR_SELECTION selection{};
  if (pcrs.empty()) return selection;
  selection.count = 1;
  selection.pcrSelections[0].hash = TPM2_ALG_SHA256;
  selection.pcrSelections[0].sizeofSelect = 3;
  for (const unsigned pcr : pcrs) {
    selection.pcrSelections[0].pcrSelect[pcr / 8] |= static_cast<BYTE>(1u << (pcr % 8));
  }
  return selection;
}

// The SHA-256 PCR indices of a selection as written by pcr_selection(), or nothing if it is not
// of that form.
std::optional<std::vector<unsigned>> pcr_indices(const TPML_PCR_SELECTION& selection) {
  std::vector<unsigned> pcrs;
  if (selection.count == 0) return pcrs;
  const auto& bank = selection.pcrSelections[0];
  if (selection.count != 1 || bank.hash != TPM2_ALG_SHA256 || bank.sizeofSelect != 3) {
    return std::nullopt;
  }
  for (unsigned pcr = 0; pcr <= max_pcr_index; ++pcr) {
    if ((bank.pcrSelect[pcr / 8] & (1u << (pcr % 8))) != 0) pcrs.push_back(pcr);
  }
  if (pcrs.empty()) return std::nullopt;
  return pcrs;
}

Result<Bytes> marshal_blob(const SealedBlob& blob) {
  Bytes bytes(blob_magic.size() + sizeof(TPML_PCR_SELECTION) + sizeof(TPM2B_PUBLIC) +
              sizeof(TPM2B_PRIVATE));
  std::copy(blob_magic.begin(), blob_magic.end(), bytes.begin());
  std::size_t offset = blob_magic.size();
  TSS2_RC rc = Tss2_MU_TPML_PCR_SELECTION_Marshal(&blob.pcrs, bytes.data(), bytes.size(), &offset);
  if (rc == TSS2_RC_SUCCESS) {
    rc = Tss2_MU_TPM2B_PUBLIC_Marshal(&blob.public_area, bytes.data(), bytes.size(), &offset);
  }
  if (rc == TSS2_RC_SUCCESS) {
    rc = Tss2_MU_TPM2B_PRIVATE_Marshal(&blob.private_area, bytes.data(), bytes.size(), &offset);
  }
  if (rc != TSS2_RC_SUCCESS) {
    return fail(Errc::internal, "cannot marshal the sealed KEK: " + decode(rc));
  }
  bytes.resize(offset);
  return bytes;
}

Result<SealedBlob> unmarshal_blob(std::span<const std::uint8_t> bytes,
                                  const std::filesystem::path& path) {
  const auto damaged = [&](std::string_view why) {
    return fail(
        Errc::integrity,
        fmt::format("{} is damaged ({}); the KEK cannot be recovered from it", path.string(), why));
  };
  if (bytes.size() < blob_magic.size() ||
      !std::equal(blob_magic.begin(), blob_magic.end(), bytes.begin())) {
    return damaged("it does not start with Cordon's TPM-sealed KEK header");
  }
  SealedBlob blob;
  std::size_t offset = blob_magic.size();
  TSS2_RC rc =
      Tss2_MU_TPML_PCR_SELECTION_Unmarshal(bytes.data(), bytes.size(), &offset, &blob.pcrs);
  if (rc == TSS2_RC_SUCCESS) {
    rc = Tss2_MU_TPM2B_PUBLIC_Unmarshal(bytes.data(), bytes.size(), &offset, &blob.public_area);
  }
  if (rc == TSS2_RC_SUCCESS) {
    rc = Tss2_MU_TPM2B_PRIVATE_Unmarshal(bytes.data(), bytes.size(), &offset, &blob.private_area);
  }
  if (rc != TSS2_RC_SUCCESS) return damaged(decode(rc));
  if (offset != bytes.size()) return damaged("bytes after the sealed object");
  if (!pcr_indices(blob.pcrs)) return damaged("an unexpected PCR selection");
  return blob;
}

Result<std::optional<SealedBlob>> read_blob(const std::filesystem::path& path) {
  const auto bytes = CORDON_TRY(read_optional_file(path));
  if (!bytes) return std::optional<SealedBlob>();
  return std::optional<SealedBlob>(CORDON_TRY(unmarshal_blob(*bytes, path)));
}

// The recorded parent name (the name's bytes, without the size prefix).
Result<std::optional<Bytes>> read_parent_name(const std::filesystem::path& path) {
  const auto bytes = CORDON_TRY(read_optional_file(path));
  if (!bytes) return std::optional<Bytes>();
  TPM2B_NAME name{};
  std::size_t offset = 0;
  const TSS2_RC rc = Tss2_MU_TPM2B_NAME_Unmarshal(bytes->data(), bytes->size(), &offset, &name);
  if (rc != TSS2_RC_SUCCESS || offset != bytes->size() || name.size == 0) {
    return fail(Errc::integrity, path.string() + " is damaged (not a TPM2B_NAME)");
  }
  return std::optional<Bytes>(Bytes(name.name, name.name + name.size));
}

} // namespace cordon::secretsd::tpm

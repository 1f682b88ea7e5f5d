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
#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include "common/crypto.h"
#include "common/encoding.h"
#include "common/file_descriptor.h"

namespace cordon::secretsd {
namespace {

// "CRDNKEK" and format version 1 at the start of kek.tpm.
constexpr std::array<std::uint8_t, 8> blob_magic{'C', 'R', 'D', 'N', 'K', 'E', 'K', 1};
// Far above any real blob (about 200 bytes); a larger file is not ours.
constexpr std::size_t max_file_bytes = 8192;
constexpr unsigned max_pcr_index = 23;
constexpr std::uint32_t owner_persistent_first = TPM2_PERSISTENT_FIRST;
constexpr std::uint32_t owner_persistent_last = TPM2_PLATFORM_PERSISTENT - 1;

std::string errno_text(int error) { return std::generic_category().message(error); }

std::string handle_text(std::uint32_t handle) { return fmt::format("{:#010x}", handle); }

std::string pcr_list(const std::vector<unsigned>& pcrs) {
  return fmt::format("{}", fmt::join(pcrs, ","));
}

// "PCR 7" or "PCRs 7,11".
std::string pcr_phrase(const std::vector<unsigned>& pcrs) {
  return (pcrs.size() == 1 ? "PCR " : "PCRs ") + pcr_list(pcrs);
}

std::string decode(TSS2_RC rc) { return Tss2_RC_Decode(rc); }

template <class T>
void wipe_object(T& object) {
  crypto::wipe({reinterpret_cast<std::uint8_t*>(&object), sizeof(T)});
}

// ---------------------------------------------------------------------------------------------
// Response codes

// The TPM's own error code without the handle, session or parameter number of format-one codes.
TSS2_RC tpm_code(TSS2_RC rc) {
  if ((rc & TSS2_RC_LAYER_MASK) != TSS2_TPM_RC_LAYER) return rc;
  return (rc & TPM2_RC_FMT1) != 0 ? (rc & (TPM2_RC_FMT1 | 0x3F)) : rc;
}

// The transport failed: the TCTI or a resource manager, not the TPM, answered.
bool is_transport_failure(TSS2_RC rc) {
  const TSS2_RC layer = rc & TSS2_RC_LAYER_MASK;
  return layer == TSS2_TCTI_RC_LAYER || layer == TSS2_RESMGR_RC_LAYER;
}

// A TPM warning (busy, out of memory, retry): the same request may succeed later.
bool is_tpm_warning(TSS2_RC rc) {
  return (rc & TSS2_RC_LAYER_MASK) == TSS2_TPM_RC_LAYER && (rc & TPM2_RC_FMT1) == 0 &&
         (rc & TPM2_RC_WARN) == TPM2_RC_WARN;
}

// A parameter the TPM refused as malformed or failing its integrity check (format one, not a
// warning): for a blob being loaded, that means the blob is damaged or not ours.
bool is_parameter_failure(TSS2_RC rc) {
  return (rc & TSS2_RC_LAYER_MASK) == TSS2_TPM_RC_LAYER && (rc & TPM2_RC_FMT1) != 0;
}

// ---------------------------------------------------------------------------------------------
// RAII over ESYS

// An ESYS context over a TCTI. Both are finalized on destruction, ESYS first.
class Connection {
public:
  // Connects and sends a first command; any failure is Errc::unavailable naming the TCTI.
  static Result<std::unique_ptr<Connection>> connect(const std::string& tcti);
  ~Connection() {
    if (m_esys != nullptr) Esys_Finalize(&m_esys);
    if (m_tcti != nullptr) Tss2_TctiLdr_Finalize(&m_tcti);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  ESYS_CONTEXT* esys() const { return m_esys; }

  // The error for a failed command; `what` completes "the TPM failed to ...".
  Error failure(std::string_view what, TSS2_RC rc) const {
    if (is_transport_failure(rc)) return unreachable(rc);
    if (is_tpm_warning(rc)) {
      return Error{Errc::unavailable,
                   fmt::format("the TPM at {} cannot {} now: {}", m_tcti_text, what, decode(rc))};
    }
    return Error{Errc::crypto, fmt::format("the TPM failed to {}: {}", what, decode(rc))};
  }
  Error unreachable(TSS2_RC rc) const {
    return Error{Errc::unavailable,
                 fmt::format("cannot reach the TPM at {}: {}", m_tcti_text, decode(rc))};
  }

private:
  explicit Connection(std::string tcti) : m_tcti_text(std::move(tcti)) {}

  std::string m_tcti_text;
  TSS2_TCTI_CONTEXT* m_tcti = nullptr;
  ESYS_CONTEXT* m_esys = nullptr;
};

// An ESYS-allocated output structure, wiped (it may hold key material) and freed with Esys_Free.
template <class T>
class EsysOutput {
public:
  EsysOutput() = default;
  ~EsysOutput() {
    if (m_value == nullptr) return;
    wipe_object(*m_value);
    Esys_Free(m_value);
  }
  EsysOutput(const EsysOutput&) = delete;
  EsysOutput& operator=(const EsysOutput&) = delete;
  T** out() { return &m_value; }
  T* operator->() const { return m_value; }
  T& operator*() const { return *m_value; }
  explicit operator bool() const { return m_value != nullptr; }

private:
  T* m_value = nullptr;
};

// An ESYS_TR owned by a scope. A transient object or a session is flushed from the TPM on
// destruction; for a persistent object only ESYS's record is closed and the object stays.
class TpmHandle {
public:
  enum class Disposal { flush, close };
  TpmHandle() = default;
  TpmHandle(ESYS_CONTEXT* esys, ESYS_TR handle, Disposal disposal)
      : m_esys(esys), m_handle(handle), m_disposal(disposal) {}
  ~TpmHandle() { reset(); }
  TpmHandle(TpmHandle&& other) noexcept
      : m_esys(other.m_esys), m_handle(std::exchange(other.m_handle, ESYS_TR_NONE)),
        m_disposal(other.m_disposal) {}
  TpmHandle& operator=(TpmHandle&& other) noexcept {
    if (this != &other) {
      reset();
      m_esys = other.m_esys;
      m_handle = std::exchange(other.m_handle, ESYS_TR_NONE);
      m_disposal = other.m_disposal;
    }
    return *this;
  }
  TpmHandle(const TpmHandle&) = delete;
  TpmHandle& operator=(const TpmHandle&) = delete;

  ESYS_TR get() const { return m_handle; }
  void reset() {
    if (m_handle == ESYS_TR_NONE) return;
    if (m_disposal == Disposal::flush) {
      Esys_FlushContext(m_esys, m_handle);
    } else {
      Esys_TR_Close(m_esys, &m_handle);
    }
    m_handle = ESYS_TR_NONE;
  }

private:
  ESYS_CONTEXT* m_esys = nullptr;
  ESYS_TR m_handle = ESYS_TR_NONE;
  Disposal m_disposal = Disposal::flush;
};

Result<std::unique_ptr<Connection>> Connection::connect(const std::string& tcti) {
  std::unique_ptr<Connection> connection(new Connection(tcti));
  TSS2_RC rc = Tss2_TctiLdr_Initialize(tcti.c_str(), &connection->m_tcti);
  if (rc != TSS2_RC_SUCCESS) {
    connection->m_tcti = nullptr;
    return tl::unexpected(connection->unreachable(rc));
  }
  rc = Esys_Initialize(&connection->m_esys, connection->m_tcti, nullptr);
  if (rc != TSS2_RC_SUCCESS) {
    connection->m_esys = nullptr;
    return tl::unexpected(connection->unreachable(rc));
  }
  // ESYS sends nothing on initialization; this is the first command, and whatever its failure
  // (no listener, TPM not started) the TPM cannot serve us.
  TPMI_YES_NO more = TPM2_NO;
  EsysOutput<TPMS_CAPABILITY_DATA> capabilities;
  rc = Esys_GetCapability(connection->esys(), ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                          TPM2_CAP_TPM_PROPERTIES, TPM2_PT_MANUFACTURER, 1, &more,
                          capabilities.out());
  if (rc != TSS2_RC_SUCCESS) return tl::unexpected(connection->unreachable(rc));
  return connection;
}

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

// Overwrites the file with random bytes of its size, fsyncs, unlinks it and fsyncs the
// directory; nothing there is success. The overwrite only narrows what a disk image shows (a
// journaling or copy-on-write file system, or an SSD, may keep the old blocks); the eviction of
// the parent is what makes a shred irrecoverable.
Result<void> destroy_file(const std::filesystem::path& path) {
  {
    FileDescriptor fd(::open(path.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC));
    if (fd.get() < 0 && errno == ENOENT) return ok();
    if (fd.get() >= 0) {
      struct stat status {};
      if (::fstat(fd.get(), &status) == 0 && S_ISREG(status.st_mode) && status.st_size > 0) {
        const auto noise =
            CORDON_TRY(crypto::random_bytes(static_cast<std::size_t>(status.st_size)));
        CORDON_TRY_VOID(write_all(fd.get(), noise, path.string()));
        if (::fsync(fd.get()) != 0) {
          return fail(Errc::io_error, "cannot sync " + path.string() + ": " + errno_text(errno));
        }
      }
    }
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return fail(Errc::io_error, "cannot remove " + path.string() + ": " + errno_text(errno));
  }
  return sync_directory(path.parent_path());
}

// ---------------------------------------------------------------------------------------------
// kek.tpm and kek.tpm-parent

struct SealedBlob {
  TPML_PCR_SELECTION pcrs{};
  TPM2B_PUBLIC public_area{};
  TPM2B_PRIVATE private_area{};
};

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
  CORDON_TRY_VOID(destroy_file(paths.blob));
  CORDON_TRY_VOID(destroy_file(paths.parent_name));
  return ok();
}

} // namespace cordon::secretsd

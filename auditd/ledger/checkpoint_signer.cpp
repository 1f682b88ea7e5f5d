#include "auditd/ledger/checkpoint_signer.h"

#include <cerrno>
#include <cstdio>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/file_descriptor.h"

namespace cordon::ledger {
namespace {

constexpr std::size_t seed_bytes = 32;

std::string errno_text(int error) { return std::generic_category().message(error); }


// Writes a fresh seed to a temporary file and links it to `path`; an existing key file (another
// process won the race) is left alone.
Result<void> create_key_file(const std::filesystem::path& path) {
  auto key = CORDON_TRY(crypto::ed25519_generate());
  const auto temporary = path.string() + ".tmp." + std::to_string(::getpid());
  FileDescriptor fd(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (fd.get() < 0) {
    crypto::wipe(key.seed);
    return fail(Errc::io_error, "cannot create " + temporary + ": " + errno_text(errno));
  }
  const ssize_t written = ::write(fd.get(), key.seed.data(), key.seed.size());
  crypto::wipe(key.seed);
  if (written != static_cast<ssize_t>(seed_bytes) || ::fsync(fd.get()) != 0) {
    const int error = written < 0 ? errno : EIO;
    ::unlink(temporary.c_str());
    return fail(Errc::io_error, "cannot write " + temporary + ": " + errno_text(error));
  }
  const int linked = ::link(temporary.c_str(), path.c_str()) == 0 ? 0 : errno;
  ::unlink(temporary.c_str());
  if (linked != 0 && linked != EEXIST) {
    return fail(Errc::io_error, "cannot create " + path.string() + ": " + errno_text(linked));
  }
  const auto parent = path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path();
  FileDescriptor directory(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (directory.get() < 0 || ::fsync(directory.get()) != 0) {
    return fail(Errc::io_error, "cannot sync " + parent.string() + ": " + errno_text(errno));
  }
  return ok();
}

} // namespace

NoteVerifierKey CheckpointSigner::verifier_key() const {
  return NoteVerifierKey{name(), note_key_id(name(), public_key()), public_key()};
}

Result<std::unique_ptr<FileCheckpointSigner>> FileCheckpointSigner::open(
    const std::filesystem::path& key_file, std::string name) {
  if (!is_valid_key_name(name)) {
    return fail(Errc::invalid_argument, "a key name must be printable ASCII without spaces or '+'");
  }
  int fd_value = ::open(key_file.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd_value < 0 && errno == ENOENT) {
    CORDON_TRY_VOID(create_key_file(key_file));
    fd_value = ::open(key_file.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  }
  if (fd_value < 0) {
    if (errno == ELOOP) {
      return fail(Errc::permission_denied, "checkpoint key " + key_file.string() + " is a symlink");
    }
    return fail(Errc::io_error, "cannot open checkpoint key " + key_file.string() + ": " + errno_text(errno));
  }
  FileDescriptor fd(fd_value);
  struct stat status {};
  if (::fstat(fd.get(), &status) != 0) {
    return fail(Errc::io_error, "cannot stat " + key_file.string() + ": " + errno_text(errno));
  }
  if (!S_ISREG(status.st_mode)) {
    return fail(Errc::permission_denied, "checkpoint key " + key_file.string() + " is not a regular file");
  }
  if ((status.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(status.st_mode & 07777));
    return fail(Errc::permission_denied, "checkpoint key " + key_file.string() + " has mode " + mode +
                                             "; it must be 0600 (readable by its owner only)");
  }
  if (status.st_uid != ::geteuid()) {
    return fail(Errc::permission_denied, "checkpoint key " + key_file.string() + " is owned by uid " +
                                             std::to_string(status.st_uid) + ", not by this process");
  }
  std::array<std::uint8_t, seed_bytes + 1> seed{};
  const ssize_t got = ::read(fd.get(), seed.data(), seed.size());
  if (got != static_cast<ssize_t>(seed_bytes)) {
    crypto::wipe(seed);
    return fail(Errc::integrity, "checkpoint key " + key_file.string() + " is not exactly 32 bytes");
  }
  auto key = crypto::ed25519_from_seed(std::span(seed.data(), seed_bytes));
  crypto::wipe(seed);
  if (!key) return tl::unexpected<Error>(key.error());
  auto signer = std::unique_ptr<FileCheckpointSigner>(new FileCheckpointSigner(std::move(name), *key));
  crypto::wipe(key->seed);
  return signer;
}

FileCheckpointSigner::~FileCheckpointSigner() { crypto::wipe(m_key.seed); }

Result<Ed25519Signature> FileCheckpointSigner::sign(std::span<const std::uint8_t> message) const {
  return crypto::ed25519_sign(m_key, message);
}

} // namespace cordon::ledger

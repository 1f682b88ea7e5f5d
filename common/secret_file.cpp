#include "common/secret_file.h"

#include <cerrno>
#include <cstdio>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/crypto.h"
#include "common/file_descriptor.h"

namespace cordon {
namespace {

std::string errno_text(int error) { return std::generic_category().message(error); }


Result<void> create_secret_file(const std::filesystem::path& path, std::size_t size) {
  auto secret = CORDON_TRY(crypto::random_bytes(size));
  const auto temporary = path.string() + ".tmp." + std::to_string(::getpid());
  FileDescriptor fd(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (fd.get() < 0) {
    crypto::wipe(secret);
    return fail(Errc::io_error, "cannot create " + temporary + ": " + errno_text(errno));
  }
  const ssize_t written = ::write(fd.get(), secret.data(), secret.size());
  crypto::wipe(secret);
  if (written != static_cast<ssize_t>(size) || ::fsync(fd.get()) != 0) {
    const int error = written < 0 ? errno : EIO;
    ::unlink(temporary.c_str());
    return fail(Errc::io_error, "cannot write " + temporary + ": " + errno_text(error));
  }
  const int linked = ::link(temporary.c_str(), path.c_str()) == 0 ? 0 : errno;
  ::unlink(temporary.c_str());
  if (linked != 0 && linked != EEXIST)
    return fail(Errc::io_error, "cannot create " + path.string() + ": " + errno_text(linked));
  const auto parent = path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path();
  FileDescriptor directory(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (directory.get() < 0 || ::fsync(directory.get()) != 0)
    return fail(Errc::io_error, "cannot sync " + parent.string() + ": " + errno_text(errno));
  return ok();
}

} // namespace

Result<Bytes> load_or_create_secret_file(const std::filesystem::path& path, std::size_t size) {
  int fd_value = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd_value < 0 && errno == ENOENT) {
    CORDON_TRY_VOID(create_secret_file(path, size));
    fd_value = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  }
  if (fd_value < 0) {
    if (errno == ELOOP) return fail(Errc::permission_denied, path.string() + " is a symlink");
    return fail(Errc::io_error, "cannot open " + path.string() + ": " + errno_text(errno));
  }
  FileDescriptor fd(fd_value);
  struct stat status {};
  if (::fstat(fd.get(), &status) != 0)
    return fail(Errc::io_error, "cannot stat " + path.string() + ": " + errno_text(errno));
  if (!S_ISREG(status.st_mode))
    return fail(Errc::permission_denied, path.string() + " is not a regular file");
  if ((status.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(status.st_mode & 07777));
    return fail(Errc::permission_denied, path.string() + " has mode " + mode +
                                             "; it must be 0600 (readable by its owner only)");
  }
  if (status.st_uid != ::geteuid())
    return fail(Errc::permission_denied, path.string() + " is owned by uid " +
                                             std::to_string(status.st_uid) + ", not by this process");
  Bytes secret(size + 1);
  const ssize_t got = ::read(fd.get(), secret.data(), secret.size());
  if (got != static_cast<ssize_t>(size)) {
    crypto::wipe(secret);
    return fail(Errc::integrity, path.string() + " is not exactly " + std::to_string(size) + " bytes");
  }
  secret.resize(size);
  return secret;
}

} // namespace cordon

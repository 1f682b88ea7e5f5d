#include "agentd/tools/workspace.h"

#include <cerrno>
#include <cstring>
#include <system_error>

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace cordon::agentd {
namespace {

constexpr std::size_t max_path_bytes = 4096;
constexpr std::uint64_t resolve_flags = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS;

int openat2_beneath(int directory, const char* path, int flags, unsigned mode) {
  open_how how{};
  how.flags = static_cast<std::uint64_t>(flags | O_CLOEXEC);
  how.mode = (flags & O_CREAT) != 0 ? mode : 0;
  how.resolve = resolve_flags;
  return static_cast<int>(::syscall(SYS_openat2, directory, path, &how, sizeof how));
}

Error open_error(int error, std::string_view path) {
  const std::string shown(path.substr(0, 256));
  switch (error) {
  case ENOENT: return Error{Errc::not_found, "no such file in the workspace: " + shown};
  case EXDEV:
  case ELOOP: return Error{Errc::permission_denied, shown + " leaves the workspace or goes through a symbolic link"};
  case EISDIR: return Error{Errc::invalid_argument, shown + " is a directory"};
  case ENOTDIR: return Error{Errc::invalid_argument, "a component of " + shown + " is not a directory"};
  case EACCES:
  case EPERM: return Error{Errc::permission_denied, "agentd may not open " + shown};
  default: return Error{Errc::io_error, "cannot open " + shown + ": " + std::generic_category().message(error)};
  }
}

} // namespace

Result<std::unique_ptr<Workspace>> Workspace::open(const std::filesystem::path& root) {
  FileDescriptor fd(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return fail(Errc::not_found, "the workspace " + root.string() + " is not a directory");
  return std::unique_ptr<Workspace>(new Workspace(root, std::move(fd)));
}

Result<void> Workspace::check_path(std::string_view path) {
  if (path.empty() || path.size() > max_path_bytes) return fail(Errc::invalid_argument, "path must be 1..4096 bytes");
  if (path.find('\0') != std::string_view::npos) return fail(Errc::invalid_argument, "path holds a NUL byte");
  if (path.front() == '/') return fail(Errc::invalid_argument, "path must be relative to the workspace");
  std::size_t start = 0;
  while (start <= path.size()) {
    const std::size_t end = std::min(path.find('/', start), path.size());
    const std::string_view part = path.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") {
      return fail(Errc::invalid_argument, "path components must not be empty, \".\" or \"..\"");
    }
    if (start == 0 && part.starts_with(".cordon")) {
      return fail(Errc::permission_denied, "names starting with .cordon are agentd's own");
    }
    start = end + 1;
  }
  return ok();
}

Result<FileDescriptor> Workspace::open_file(std::string_view path, int flags, unsigned mode) const {
  CORDON_TRY_VOID(check_path(path));
  const std::string text(path);
  FileDescriptor fd(openat2_beneath(m_fd.get(), text.c_str(), flags, mode));
  if (fd.get() < 0) return tl::unexpected(open_error(errno, path));
  return fd;
}

Result<FileDescriptor> Workspace::open_parent(std::string_view path, bool create, std::string& leaf) const {
  CORDON_TRY_VOID(check_path(path));
  const std::size_t slash = path.rfind('/');
  leaf = std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
  FileDescriptor directory(::fcntl(m_fd.get(), F_DUPFD_CLOEXEC, 0));
  if (directory.get() < 0) return fail(Errc::io_error, "cannot use the workspace: " + std::string(std::strerror(errno)));
  if (slash == std::string_view::npos) return directory;
  // One component at a time, each beneath the one before, so a created directory is never
  // reached through a link.
  std::size_t start = 0;
  while (start < slash) {
    const std::size_t end = path.find('/', start);
    const std::string part(path.substr(start, end - start));
    FileDescriptor next(openat2_beneath(directory.get(), part.c_str(), O_RDONLY | O_DIRECTORY, 0));
    if (next.get() < 0 && errno == ENOENT && create) {
      if (::mkdirat(directory.get(), part.c_str(), 0750) != 0 && errno != EEXIST) {
        return tl::unexpected(open_error(errno, path));
      }
      next = FileDescriptor(openat2_beneath(directory.get(), part.c_str(), O_RDONLY | O_DIRECTORY, 0));
    }
    if (next.get() < 0) return tl::unexpected(open_error(errno, path));
    directory = std::move(next);
    start = end + 1;
  }
  return directory;
}

Result<FileDescriptor> Workspace::trash_directory() const {
  constexpr const char* name = ".cordon-trash";
  if (::mkdirat(m_fd.get(), name, 0700) != 0 && errno != EEXIST) {
    return fail(Errc::io_error, "cannot create the workspace's trash: " + std::string(std::strerror(errno)));
  }
  FileDescriptor fd(openat2_beneath(m_fd.get(), name, O_RDONLY | O_DIRECTORY, 0));
  if (fd.get() < 0) return fail(Errc::io_error, "cannot open the workspace's trash: " + std::string(std::strerror(errno)));
  return fd;
}

} // namespace cordon::agentd

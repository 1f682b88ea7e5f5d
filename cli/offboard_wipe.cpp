#include "cli/offboard_wipe.h"

#include <algorithm>
#include <cerrno>
#include <system_error>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/file_descriptor.h"

namespace cordon::cli {
namespace fs = std::filesystem;
namespace {

Result<void> overwrite_with_zeros(const fs::path& file) {
  FileDescriptor fd(::open(file.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.get() < 0) return fail(Errc::io_error, "cannot open " + file.string() + ": " + std::generic_category().message(errno));
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0) return fail(Errc::io_error, "cannot stat " + file.string());
  static const std::vector<char> zeros(1 << 16, 0);
  off_t done = 0;
  while (done < info.st_size) {
    const auto chunk = static_cast<std::size_t>(std::min<off_t>(info.st_size - done, static_cast<off_t>(zeros.size())));
    const ssize_t wrote = ::pwrite(fd.get(), zeros.data(), chunk, done);
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote <= 0) return fail(Errc::io_error, "cannot overwrite " + file.string() + ": " + std::generic_category().message(errno));
    done += wrote;
  }
  if (::fdatasync(fd.get()) != 0) return fail(Errc::io_error, "cannot sync " + file.string());
  return ok();
}

} // namespace

Result<std::size_t> wipe_tree(const fs::path& path) {
  std::error_code error;
  const auto top = fs::symlink_status(path, error);
  if (error || top.type() == fs::file_type::not_found) return std::size_t{0};
  std::size_t overwritten = 0;
  if (top.type() == fs::file_type::directory) {
    for (auto it = fs::recursive_directory_iterator(path, fs::directory_options::none, error);
         !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
      if (it->is_symlink(error) || !it->is_regular_file(error)) continue;
      CORDON_TRY_VOID(overwrite_with_zeros(it->path()));
      ++overwritten;
    }
    if (error) return fail(Errc::io_error, "cannot walk " + path.string() + ": " + error.message());
  } else if (top.type() == fs::file_type::regular) {
    CORDON_TRY_VOID(overwrite_with_zeros(path));
    ++overwritten;
  }
  fs::remove_all(path, error);
  if (error) return fail(Errc::io_error, "cannot remove " + path.string() + ": " + error.message());
  return overwritten;
}

} // namespace cordon::cli

#include "common/files.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/crypto.h"

namespace cordon {

Result<std::string> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(Errc::not_found, "cannot read " + path.string());
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) return fail(Errc::io_error, "cannot read " + path.string());
  return out.str();
}

Result<void> write_file_atomically(const std::filesystem::path& path, std::string_view text) {
  const auto temporary = path.string() + ".tmp";
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return fail(Errc::io_error, "cannot create " + temporary + ": " + std::generic_category().message(errno));
  const bool written =
      ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!written || ::rename(temporary.c_str(), path.c_str()) != 0) {
    ::unlink(temporary.c_str());
    return fail(Errc::io_error, "cannot write " + path.string());
  }
  return ok();
}

Result<void> make_private_directory(const std::filesystem::path& path) {
  std::error_code error;
  std::filesystem::create_directories(path, error);
  if (error) return fail(Errc::io_error, "cannot create " + path.string() + ": " + error.message());
  if (::chmod(path.c_str(), 0700) != 0) return fail(Errc::io_error, "cannot chmod " + path.string());
  return ok();
}

Result<void> shred_file(const std::filesystem::path& path) {
  const auto errno_text = [] { return std::generic_category().message(errno); };
  const int fd = ::open(path.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return ok();
    return fail(Errc::io_error, "cannot open " + path.string() + " to shred it: " + errno_text());
  }
  struct stat status {};
  bool overwritten = ::fstat(fd, &status) == 0;
  for (off_t done = 0; overwritten && done < status.st_size;) {
    const auto chunk = static_cast<std::size_t>(std::min<off_t>(status.st_size - done, 64 << 10));
    auto noise = crypto::random_bytes(chunk);
    overwritten = noise && ::pwrite(fd, noise->data(), chunk, done) == static_cast<ssize_t>(chunk);
    done += static_cast<off_t>(chunk);
  }
  overwritten = overwritten && ::fsync(fd) == 0;
  ::close(fd);
  if (!overwritten) return fail(Errc::io_error, "cannot overwrite " + path.string());
  if (::unlink(path.c_str()) != 0) return fail(Errc::io_error, "cannot remove " + path.string() + ": " + errno_text());
  const auto parent = path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path();
  const int directory = ::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const bool synced = directory >= 0 && ::fsync(directory) == 0;
  if (directory >= 0) ::close(directory);
  if (!synced) return fail(Errc::io_error, "cannot sync " + parent.string());
  return ok();
}

} // namespace cordon

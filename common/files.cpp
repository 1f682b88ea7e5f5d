#include "common/files.h"

#include <fstream>
#include <sstream>
#include <system_error>

#include <fcntl.h>
#include <unistd.h>

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

} // namespace cordon

#include "auditd/auditor/local_copy.h"

#include "common/files.h"

#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace cordon::auditor {
namespace {

std::string errno_text() { return std::generic_category().message(errno); }

} // namespace

LocalCopy::LocalCopy(std::filesystem::path directory) : m_directory(std::move(directory)) {}

Result<void> LocalCopy::create() const {
  std::error_code error;
  std::filesystem::create_directories(checkpoints_dir(), error);
  if (error) return fail(Errc::io_error, "cannot create " + checkpoints_dir().string() + ": " + error.message());
  return ok();
}

Result<std::uint64_t> LocalCopy::repair_and_count() const {
  int fd = ::open(events_path().c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::uint64_t{0};
    return fail(Errc::io_error, "cannot open " + events_path().string() + ": " + errno_text());
  }
  std::uint64_t lines = 0;
  std::uint64_t offset = 0;
  std::uint64_t last_newline_end = 0;
  char buffer[1 << 16];
  while (true) {
    const ssize_t got = ::read(fd, buffer, sizeof buffer);
    if (got < 0) {
      ::close(fd);
      return fail(Errc::io_error, "cannot read " + events_path().string() + ": " + errno_text());
    }
    if (got == 0) break;
    for (ssize_t i = 0; i < got; ++i) {
      if (buffer[i] == '\n') {
        ++lines;
        last_newline_end = offset + static_cast<std::uint64_t>(i) + 1;
      }
    }
    offset += static_cast<std::uint64_t>(got);
  }
  if (last_newline_end != offset &&
      (::ftruncate(fd, static_cast<off_t>(last_newline_end)) != 0 || ::fsync(fd) != 0)) {
    ::close(fd);
    return fail(Errc::io_error, "cannot cut the torn tail of " + events_path().string());
  }
  ::close(fd);
  return lines;
}

Result<void> LocalCopy::append(const std::string& lines_with_newlines) const {
  int fd = ::open(events_path().c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return fail(Errc::io_error, "cannot open " + events_path().string() + ": " + errno_text());
  std::size_t done = 0;
  while (done < lines_with_newlines.size()) {
    const ssize_t wrote = ::write(fd, lines_with_newlines.data() + done, lines_with_newlines.size() - done);
    if (wrote <= 0) {
      ::close(fd);
      return fail(Errc::io_error, "cannot write " + events_path().string() + ": " + errno_text());
    }
    done += static_cast<std::size_t>(wrote);
  }
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!synced) return fail(Errc::io_error, "cannot sync " + events_path().string());
  return ok();
}

Result<void> LocalCopy::save_checkpoint(std::uint64_t size, const std::string& note) const {
  return write_file_atomically(checkpoints_dir() / (std::to_string(size) + ".note"), note);
}

Result<std::vector<std::string>> LocalCopy::checkpoints() const {
  std::vector<std::string> notes;
  // A copy without a checkpoints directory simply has none (is_directory reports ENOENT).
  std::error_code error;
  if (std::filesystem::is_directory(checkpoints_dir(), error)) {
    for (const auto& entry : std::filesystem::directory_iterator(checkpoints_dir(), error)) {
      if (entry.path().extension() != ".note") continue;
      notes.push_back(CORDON_TRY(read_file(entry.path())));
    }
    if (error) return fail(Errc::io_error, "cannot list " + checkpoints_dir().string() + ": " + error.message());
  }
  if (std::filesystem::exists(verified_path())) notes.push_back(CORDON_TRY(read_file(verified_path())));
  return notes;
}

Result<void> LocalCopy::save_verified(const std::string& note) const {
  return write_file_atomically(verified_path(), note);
}

} // namespace cordon::auditor

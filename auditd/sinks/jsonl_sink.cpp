#include "auditd/sinks/jsonl_sink.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>
#include <vector>

#include <fmt/format.h>

namespace cordon::audit {
namespace {

std::string errno_text(int error) { return std::system_category().message(error); }

Error io_failure(std::string_view what, const std::filesystem::path& path, int error) {
  return Error{Errc::io_error, fmt::format("{} {}: {}", what, path.string(), errno_text(error))};
}

// Makes a newly created file's directory entry durable.
Result<void> sync_directory(const std::filesystem::path& directory) {
  const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return tl::unexpected(io_failure("cannot open directory", directory, errno));
  const int rc = ::fsync(fd);
  const int error = errno;
  ::close(fd);
  if (rc != 0) return tl::unexpected(io_failure("cannot sync directory", directory, error));
  return ok();
}

struct LineScan {
  std::uint64_t lines = 0;
  off_t complete_bytes = 0; // length of the prefix that ends with the last '\n'
  off_t total_bytes = 0;
};

Result<LineScan> scan_lines(int fd, const std::filesystem::path& path) {
  LineScan scan;
  std::vector<char> buffer(1 << 20);
  for (;;) {
    const ssize_t n = ::pread(fd, buffer.data(), buffer.size(), scan.total_bytes);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return tl::unexpected(io_failure("cannot read", path, errno));
    if (n == 0) return scan;
    const auto* begin = buffer.data();
    const auto* end = begin + n;
    for (const auto* p = begin; (p = std::find(p, end, '\n')) != end; ++p) {
      ++scan.lines;
      scan.complete_bytes = scan.total_bytes + (p - begin) + 1;
    }
    scan.total_bytes += n;
  }
}

Result<void> write_all(int fd, std::string_view bytes, const std::filesystem::path& path) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return tl::unexpected(io_failure("cannot append to", path, errno));
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return ok();
}

} // namespace

JsonlSink::JsonlSink(std::filesystem::path path)
    : m_path(std::move(path)), m_name("jsonl:" + m_path.string()) {}

JsonlSink::~JsonlSink() { close_file(); }

void JsonlSink::close_file() {
  if (m_fd >= 0) ::close(m_fd);
  m_fd = -1;
  m_lines = 0;
}

Result<void> JsonlSink::open_if_needed() {
  if (m_fd >= 0) return ok();
  const auto directory = m_path.parent_path();
  if (!directory.empty()) {
    std::error_code error;
    std::filesystem::create_directories(directory, error);
    if (error) {
      return fail(Errc::io_error, fmt::format("cannot create directory {}: {}", directory.string(),
                                              error.message()));
    }
  }
  const int fd = ::open(m_path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0) return tl::unexpected(io_failure("cannot open", m_path, errno));
  m_fd = fd;

  auto scan = scan_lines(m_fd, m_path);
  if (!scan) {
    close_file();
    return tl::unexpected(scan.error());
  }
  if (scan->complete_bytes != scan->total_bytes) {
    // A torn last line was never acknowledged by a successful write(); dropping it restores the
    // one-leaf-per-line form before anything is appended after it.
    if (::ftruncate(m_fd, scan->complete_bytes) != 0 || ::fdatasync(m_fd) != 0) {
      const int error = errno;
      close_file();
      return tl::unexpected(io_failure("cannot truncate the torn last line of", m_path, error));
    }
  }
  if (auto synced = sync_directory(directory.empty() ? "." : directory); !synced) {
    close_file();
    return synced;
  }
  m_lines = scan->lines;
  return ok();
}

Result<std::uint64_t> JsonlSink::cursor() {
  CORDON_TRY_VOID(open_if_needed());
  return m_lines;
}

Result<void> JsonlSink::write(std::uint64_t first_index, std::span<const SinkEntry> entries) {
  CORDON_TRY_VOID(check_consecutive(first_index, entries));
  for (const auto& entry : entries) {
    if (entry.leaf.find('\n') != std::string::npos) {
      return fail(Errc::invalid_argument,
                  fmt::format("leaf {} contains a newline; a JSONL sink stores one leaf per line",
                              entry.index));
    }
  }
  CORDON_TRY_VOID(open_if_needed());
  if (first_index > m_lines) {
    return fail(Errc::conflict, fmt::format("{} holds {} entries; writing from index {} would "
                                            "leave a gap",
                                            m_name, m_lines, first_index));
  }
  const auto already_stored = std::min<std::uint64_t>(m_lines - first_index, entries.size());
  const auto fresh = entries.subspan(static_cast<std::size_t>(already_stored));
  if (fresh.empty()) return ok();

  std::string lines;
  for (const auto& entry : fresh) {
    lines += entry.leaf;
    lines += '\n';
  }
  // After a failed append the file may end in a torn line; closing makes the next call reopen,
  // truncate it and count the complete lines again.
  if (auto written = write_all(m_fd, lines, m_path); !written) {
    close_file();
    return written;
  }
  if (::fdatasync(m_fd) != 0) {
    const int error = errno;
    close_file();
    return tl::unexpected(io_failure("cannot fdatasync", m_path, error));
  }
  m_lines += fresh.size();
  return ok();
}

} // namespace cordon::audit

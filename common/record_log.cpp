#include "common/record_log.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/crypto.h"

namespace cordon {
namespace {

constexpr std::string_view header = std::string_view("cordon-records\n\x01", 16);
constexpr std::size_t length_bytes = 4;
constexpr std::size_t checksum_bytes = 8;
constexpr std::size_t record_overhead = length_bytes + checksum_bytes;

std::string errno_text(int error) { return std::strerror(error); }

std::uint32_t read_length(const char* at) {
  std::uint32_t value = 0;
  for (int i = 3; i >= 0; --i) value = (value << 8) | static_cast<unsigned char>(at[i]);
  return value;
}

// The first 8 bytes of SHA-256(length || payload).
std::string checksum(std::string_view length, std::string_view payload) {
  crypto::Sha256 hash;
  hash.update(length);
  hash.update(payload);
  const auto digest = hash.finish();
  return std::string(reinterpret_cast<const char*>(digest.data()), checksum_bytes);
}

bool all_zero(std::string_view bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](char c) { return c == '\0'; });
}

int fsync_directory_of(const std::filesystem::path& path) {
  const auto parent = path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path();
  FileDescriptor fd(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return errno;
  return ::fsync(fd.get()) == 0 ? 0 : errno;
}

Result<FileDescriptor> open_locked(const std::filesystem::path& path, int flags) {
  FileDescriptor fd(::open(path.c_str(), flags | O_RDWR | O_CLOEXEC, 0600));
  if (fd.get() < 0) return fail(Errc::io_error, "cannot open " + path.string() + ": " + errno_text(errno));
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) return fail(Errc::unavailable, path.string() + " is in use by another process");
    return fail(Errc::io_error, "cannot lock " + path.string() + ": " + errno_text(errno));
  }
  return fd;
}

Result<std::string> read_all(int fd, const std::filesystem::path& path, std::uint64_t max_bytes) {
  struct stat status {};
  if (::fstat(fd, &status) != 0) return fail(Errc::io_error, "cannot stat " + path.string() + ": " + errno_text(errno));
  const auto size = static_cast<std::uint64_t>(status.st_size);
  if (size > max_bytes) {
    return fail(Errc::integrity, path.string() + " is " + std::to_string(size) + " bytes, more than a record log may be");
  }
  std::string bytes(static_cast<std::size_t>(size), '\0');
  for (std::size_t done = 0; done < bytes.size();) {
    const ssize_t got = ::pread(fd, bytes.data() + done, bytes.size() - done, static_cast<off_t>(done));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return fail(Errc::io_error, "cannot read " + path.string() + ": " + (got < 0 ? errno_text(errno) : "short read"));
    done += static_cast<std::size_t>(got);
  }
  return bytes;
}

} // namespace

std::string encode_log_record(std::string_view payload) {
  std::string record;
  record.reserve(record_overhead + payload.size());
  const auto length = static_cast<std::uint32_t>(payload.size());
  for (int i = 0; i < 4; ++i) record.push_back(static_cast<char>((length >> (8 * i)) & 0xff));
  record += checksum(std::string_view(record).substr(0, length_bytes), payload);
  record += payload;
  return record;
}

Result<std::unique_ptr<RecordLog>> RecordLog::open(const std::filesystem::path& path,
                                                   const std::function<void(std::string_view)>& replay,
                                                   RecordLogOptions options) {
  if (options.disk == nullptr) options.disk = &system_disk();
  if (options.preallocate_bytes == 0) return fail(Errc::invalid_argument, "a record log needs a preallocation size");
  const auto leftover = std::filesystem::path(path.string() + ".new");
  std::error_code ignored;
  std::filesystem::remove(leftover, ignored);

  auto fd = CORDON_TRY(open_locked(path, O_CREAT));
  auto log = std::unique_ptr<RecordLog>(new RecordLog(path, options, std::move(fd)));
  const int handle = log->m_fd.get();
  const std::string bytes = CORDON_TRY(read_all(handle, path, options.max_file_bytes));
  log->m_allocated = bytes.size();

  if (bytes.empty()) {
    // New (or created by a crash before its header was synced): write the header.
    if (const int error = options.disk->write_at(handle, header, 0); error != 0) {
      return fail(Errc::io_error, "cannot write " + path.string() + ": " + errno_text(error));
    }
    if (const int error = options.disk->sync_data(handle); error != 0) {
      return fail(Errc::io_error, "cannot sync " + path.string() + ": " + errno_text(error));
    }
    if (const int error = fsync_directory_of(path); error != 0) {
      return fail(Errc::io_error, "cannot sync the directory of " + path.string() + ": " + errno_text(error));
    }
    log->m_end = log->m_allocated = header.size();
    return log;
  }
  if (!std::string_view(bytes).starts_with(header)) {
    return fail(Errc::integrity, path.string() + " is not a record log of this version (its header differs)");
  }

  std::size_t at = header.size();
  while (at + record_overhead <= bytes.size()) {
    const std::uint32_t length = read_length(bytes.data() + at);
    if (length == 0) break;
    const std::string_view view(bytes);
    const bool fits = length <= max_record_bytes && length <= bytes.size() - at - record_overhead;
    if (fits) {
      const auto payload = view.substr(at + record_overhead, length);
      if (checksum(view.substr(at, length_bytes), payload) == view.substr(at + length_bytes, checksum_bytes)) {
        replay(payload);
        at += record_overhead + length;
        continue;
      }
    }
    // A failed record: torn if nothing follows it (an append that never returned), else damage.
    const std::size_t after = fits ? at + record_overhead + length : bytes.size();
    if (!all_zero(view.substr(after))) {
      return fail(Errc::integrity, path.string() + " is damaged at byte " + std::to_string(at) +
                                       ": a record fails its checksum and records follow it");
    }
    break;
  }
  // Whatever lies between the last good record and the end must read as zeros for the next
  // append to be found again: clear a torn tail.
  const std::string_view rest = std::string_view(bytes).substr(std::min(at, bytes.size()));
  if (!all_zero(rest)) {
    const std::string zeros(rest.size(), '\0');
    if (const int error = options.disk->write_at(handle, zeros, at); error != 0) {
      return fail(Errc::io_error, "cannot clear the torn tail of " + path.string() + ": " + errno_text(error));
    }
    if (const int error = options.disk->sync_data(handle); error != 0) {
      return fail(Errc::io_error, "cannot sync " + path.string() + ": " + errno_text(error));
    }
    log->m_recovered = rest.size() - static_cast<std::size_t>(std::count(rest.begin(), rest.end(), '\0'));
  }
  log->m_end = at;
  return log;
}

Result<void> RecordLog::reserve(std::uint64_t end) {
  if (end <= m_allocated) return ok();
  const std::uint64_t length = std::max(m_options.preallocate_bytes, end - m_allocated);
  const int error = disk().allocate(m_fd.get(), m_allocated, length, true);
  if (error != 0) {
    // Space that was extended reads as zeros, which is what unused space must be; count only
    // what is certain.
    return fail(Errc::unavailable, "no space for " + m_path.string() + ": " + errno_text(error));
  }
  m_allocated += length;
  return ok();
}

Result<void> RecordLog::append(std::string_view payload) {
  if (m_broken) {
    return fail(Errc::unavailable, m_path.string() + " could not be restored after a failed write; restart to recover it");
  }
  if (payload.empty()) return fail(Errc::invalid_argument, "a record needs a payload");
  if (payload.size() > max_record_bytes) return fail(Errc::too_large, "a record is at most 1 MiB");
  const std::string record = encode_log_record(payload);
  CORDON_TRY_VOID(reserve(m_end + record.size()));
  int error = disk().write_at(m_fd.get(), record, m_end);
  const bool wrote = error == 0;
  if (wrote) error = disk().sync_data(m_fd.get());
  if (error == 0) {
    m_end += record.size();
    return ok();
  }
  // Not acknowledged: clear what may have been written, so that the next append starts here
  // again and recovery finds zeros, not a stray record. A failed sync may still have carried the
  // record to the disk; it is then there whole, and the zeros written now replace it.
  const std::string zeros(record.size(), '\0');
  if (disk().write_at(m_fd.get(), zeros, m_end) != 0) m_broken = true;
  return fail(Errc::unavailable, std::string("cannot ") + (wrote ? "sync " : "write ") + m_path.string() +
                                     ": " + errno_text(error));
}

Result<void> RecordLog::rewrite(std::span<const std::string> payloads) {
  const auto next_path = std::filesystem::path(m_path.string() + ".new");
  auto fd = CORDON_TRY(open_locked(next_path, O_CREAT | O_TRUNC));
  std::string bytes(header);
  for (const auto& payload : payloads) {
    if (payload.empty() || payload.size() > max_record_bytes) {
      ::unlink(next_path.c_str());
      return fail(Errc::invalid_argument, "a record is 1 byte to 1 MiB");
    }
    bytes += encode_log_record(payload);
  }
  const std::uint64_t end = bytes.size();
  const std::uint64_t allocated = end + m_options.preallocate_bytes;
  int error = disk().allocate(fd.get(), 0, allocated, true);
  if (error == 0) error = disk().write_at(fd.get(), bytes, 0);
  if (error == 0) error = disk().sync_data(fd.get());
  if (error == 0 && ::rename(next_path.c_str(), m_path.c_str()) != 0) error = errno;
  if (error != 0) {
    ::unlink(next_path.c_str());
    return fail(Errc::unavailable, "cannot rewrite " + m_path.string() + ": " + errno_text(error));
  }
  // Renamed: the new file is the log from here on, whether or not the directory's sync succeeds.
  m_fd = std::move(fd);
  m_end = end;
  m_allocated = allocated;
  m_broken = false;
  if (const int synced = fsync_directory_of(m_path); synced != 0) {
    return fail(Errc::unavailable, "cannot sync the directory of " + m_path.string() + ": " + errno_text(synced));
  }
  return ok();
}

} // namespace cordon

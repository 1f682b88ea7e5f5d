#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "common/disk.h"
#include "common/error.h"
#include "common/file_descriptor.h"

namespace cordon {

struct RecordLogOptions {
  // Space is reserved (and zeros written) this much at a time ahead of the records, so that an
  // append overwrites written blocks and its fdatasync writes the record alone.
  std::uint64_t preallocate_bytes = std::uint64_t{1} << 20;
  // open() refuses a larger file rather than reading it into memory.
  std::uint64_t max_file_bytes = std::uint64_t{1} << 30;
  // The durability calls; system_disk() when null. Must outlive the log.
  Disk* disk = nullptr;
};

// A file of durable records, each written and fdatasynced before append() returns: the store of
// small state that must survive a crash exactly (spent nonces, open leases), where a database's
// page writes and checkpoints would cost several times one record's sync.
//
// Layout: a 16-byte header ("cordon-records\n" and a version byte), then records, each a
// little-endian u32 payload length (1 ..  max_record_bytes), the first 8 bytes of
// SHA-256(length || payload), and the payload; then zeros to the end of the reserved space. A
// zero length ends the records.
//
// Recovery (open): a record that fails its check, with nothing but zeros after it, is the torn
// tail of an append that never returned; it is zeroed and the log continues before it. A record
// that fails with data after it is damage, not a torn append, and open() fails with
// Errc::integrity naming its offset: dropping what follows could forget a spent nonce.
//
// Not thread-safe: its owner serialises calls.
class RecordLog {
public:
  static constexpr std::size_t max_record_bytes = std::size_t{1} << 20;

  // Opens (or creates, with mode 0600) the log at `path`, calling `replay` with each record's
  // payload in order. A leftover "<path>.new" from a rewrite that did not finish is removed (the
  // log it was to replace is intact). Errc::integrity for a damaged or foreign file,
  // Errc::io_error when it cannot be read or created.
  static Result<std::unique_ptr<RecordLog>> open(const std::filesystem::path& path,
                                                 const std::function<void(std::string_view)>& replay,
                                                 RecordLogOptions options = {});

  RecordLog(const RecordLog&) = delete;
  RecordLog& operator=(const RecordLog&) = delete;

  // Appends one record and makes it durable. On failure (Errc::unavailable for a full disk or an
  // I/O error, Errc::too_large, Errc::invalid_argument for an empty payload) the log is as it
  // was: the record is not there after a restart, or, if a failed sync let it reach the disk
  // anyway, it is there as a whole record. A failure that leaves the file in doubt (the record's
  // bytes could not be cleared again) refuses every later append until the log is reopened.
  Result<void> append(std::string_view payload);

  // Replaces the whole log with `payloads`, atomically: a new file is written and synced beside
  // it and renamed over it, so after a crash the log holds either the old records or exactly
  // these. On failure the old log is kept and stays usable.
  Result<void> rewrite(std::span<const std::string> payloads);

  // Bytes of records (header included): what a rewrite would shrink.
  std::uint64_t bytes() const { return m_end; }
  // Bytes of torn tail that open() cleared.
  std::uint64_t recovered_bytes() const { return m_recovered; }
  const std::filesystem::path& path() const { return m_path; }

private:
  RecordLog(std::filesystem::path path, RecordLogOptions options, FileDescriptor fd)
      : m_path(std::move(path)), m_options(options), m_fd(std::move(fd)) {}
  Result<void> reserve(std::uint64_t end);
  Disk& disk() const { return *m_options.disk; }

  std::filesystem::path m_path;
  RecordLogOptions m_options;
  FileDescriptor m_fd;
  std::uint64_t m_end = 0;       // where the next record goes
  std::uint64_t m_allocated = 0; // the file's length: written bytes or zeros up to here
  std::uint64_t m_recovered = 0;
  bool m_broken = false;
};

// One record's bytes (length, checksum, payload) as RecordLog writes them: for tests that build
// damaged files.
std::string encode_log_record(std::string_view payload);

} // namespace cordon

#pragma once

#include <cstdint>
#include <string_view>

namespace cordon {

// The calls by which durable files (the ledger's segments, record logs) make bytes durable,
// behind a seam so that tests can make them fail as a full or failing disk does (ENOSPC, EIO)
// without one. The real implementation is system_disk(); a fake only needs to fail some calls
// and pass the rest through.
class Disk {
public:
  virtual ~Disk() = default;
  // Writes all of `bytes` to `fd` at `offset` (looping over short writes). Returns 0 or an errno
  // value; on error any prefix of the bytes may have been written.
  virtual int write_at(int fd, std::string_view bytes, std::uint64_t offset) = 0;
  // fdatasync(fd). Returns 0 or an errno value.
  virtual int sync_data(int fd) = 0;
  // fsync(fd), for directories after a file is created. Returns 0 or an errno value.
  virtual int sync_all(int fd) = 0;
  // ftruncate(fd, length). Returns 0 or an errno value.
  virtual int truncate(int fd, std::uint64_t length) = 0;
  // Extends the file over [offset, offset + length) with reserved blocks that read as zeros
  // (fallocate). With `write_zeros`, the zeros are also written, so that a later write there
  // overwrites data in place: its fdatasync then writes that data alone, with no change to the
  // file's extents or size to commit. Returns 0 or an errno value (EOPNOTSUPP where the file
  // system cannot reserve and `write_zeros` is false); on error the file may have been extended
  // over any part of the range.
  virtual int allocate(int fd, std::uint64_t offset, std::uint64_t length, bool write_zeros) = 0;
};

// pwrite / fdatasync / fsync / ftruncate / fallocate and zeros, retried on EINTR.
Disk& system_disk();

} // namespace cordon

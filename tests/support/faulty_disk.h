#pragma once

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <string_view>

#include "common/disk.h"

namespace cordon::testing {

// A disk that fails chosen calls the way a full or failing disk does and passes the rest to
// system_disk(). Counters fail the next N calls of their kind; flags hold until cleared.
class FaultyDisk final : public Disk {
public:
  std::atomic<bool> full{false};         // every write and allocation fails with ENOSPC
  std::atomic<bool> no_new_space{false}; // allocations fail with ENOSPC; writes into space
                                         // reserved before still succeed, as on a real disk
  bool no_fallocate = false;             // reserving without writing zeros is not supported
  int failing_writes = 0;                // each stores half its bytes, then fails with write_error
  int write_error = ENOSPC;
  int failing_syncs = 0;                 // EIO
  int failing_truncates = 0;             // EIO
  int failing_allocates = 0;             // ENOSPC

  int write_at(int fd, std::string_view bytes, std::uint64_t offset) override {
    if (full) return ENOSPC;
    if (failing_writes > 0) {
      --failing_writes;
      system_disk().write_at(fd, bytes.substr(0, bytes.size() / 2), offset);
      return write_error;
    }
    return system_disk().write_at(fd, bytes, offset);
  }
  int sync_data(int fd) override { return take(failing_syncs) ? EIO : system_disk().sync_data(fd); }
  int sync_all(int fd) override { return system_disk().sync_all(fd); }
  int truncate(int fd, std::uint64_t length) override {
    return take(failing_truncates) ? EIO : system_disk().truncate(fd, length);
  }
  int allocate(int fd, std::uint64_t offset, std::uint64_t length, bool write_zeros) override {
    if (full || no_new_space || take(failing_allocates)) return ENOSPC;
    if (no_fallocate && !write_zeros) return EOPNOTSUPP;
    return system_disk().allocate(fd, offset, length, write_zeros);
  }

private:
  static bool take(int& count) {
    if (count <= 0) return false;
    --count;
    return true;
  }
};

} // namespace cordon::testing

#include "common/disk.h"

#include <algorithm>
#include <cerrno>
#include <string>

#include <fcntl.h>
#include <unistd.h>

namespace cordon {
namespace {

class SystemDisk final : public Disk {
public:
  int write_at(int fd, std::string_view bytes, std::uint64_t offset) override {
    while (!bytes.empty()) {
      const ssize_t written = ::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset));
      if (written < 0) {
        if (errno == EINTR) continue;
        return errno;
      }
      if (written == 0) return EIO; // pwrite of a non-empty buffer never returns 0 on a file
      bytes.remove_prefix(static_cast<std::size_t>(written));
      offset += static_cast<std::uint64_t>(written);
    }
    return 0;
  }

  int sync_data(int fd) override { return retry([fd] { return ::fdatasync(fd); }); }
  int sync_all(int fd) override { return retry([fd] { return ::fsync(fd); }); }
  int truncate(int fd, std::uint64_t length) override {
    return retry([fd, length] { return ::ftruncate(fd, static_cast<off_t>(length)); });
  }
  int allocate(int fd, std::uint64_t offset, std::uint64_t length, bool write_zeros) override {
    // fallocate first: contiguous blocks, and a full disk found before anything is written. Its
    // blocks are "unwritten" extents, which a later write converts (a journal commit in that
    // write's fdatasync); written zeros spare that. File systems without fallocate get the
    // zeros alone.
    const int reserved = retry([fd, offset, length] {
      return ::fallocate(fd, 0, static_cast<off_t>(offset), static_cast<off_t>(length));
    });
    if (!write_zeros || (reserved != 0 && reserved != EOPNOTSUPP)) return reserved;
    static const std::string zeros(std::size_t{256} << 10, '\0');
    for (std::uint64_t done = 0; done < length;) {
      const auto piece = static_cast<std::size_t>(std::min<std::uint64_t>(zeros.size(), length - done));
      if (const int error = write_at(fd, std::string_view(zeros).substr(0, piece), offset + done)) {
        return error;
      }
      done += piece;
    }
    return 0;
  }

private:
  template <class Call>
  static int retry(Call call) {
    for (;;) {
      if (call() == 0) return 0;
      if (errno != EINTR) return errno;
    }
  }
};

} // namespace

Disk& system_disk() {
  static SystemDisk disk;
  return disk;
}

} // namespace cordon

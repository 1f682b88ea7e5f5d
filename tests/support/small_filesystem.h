#pragma once

#include <sys/mount.h>

#include <string>

#include "tests/support/temp_dir.h"

namespace cordon::testing {

// A tmpfs of `size` mounted on a fresh directory, unmounted on destruction: a disk that fills
// up. Mounting needs root (the suite runs as root, as CI does); `mounted` says whether it worked.
class SmallFilesystem {
public:
  explicit SmallFilesystem(const std::string& size) {
    const std::string options = "size=" + size + ",mode=0700";
    mounted = ::mount("tmpfs", dir.path().c_str(), "tmpfs", MS_NOSUID | MS_NODEV, options.c_str()) == 0;
  }
  ~SmallFilesystem() {
    if (mounted) ::umount2(dir.path().c_str(), MNT_DETACH);
  }
  SmallFilesystem(const SmallFilesystem&) = delete;
  SmallFilesystem& operator=(const SmallFilesystem&) = delete;

  bool resize(const std::string& size) {
    const std::string options = "size=" + size;
    return ::mount("tmpfs", dir.path().c_str(), "tmpfs", MS_REMOUNT | MS_NOSUID | MS_NODEV, options.c_str()) == 0;
  }

  TempDir dir{"cordon-full"};
  bool mounted = false;
};

} // namespace cordon::testing

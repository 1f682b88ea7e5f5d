#include "provisioning/bundle_source.h"

#include <cstdlib>
#include <memory>
#include <system_error>
#include <thread>

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include "provisioning/bundle.h"
#include "provisioning/paths.h"

namespace cordon::provisioning {
namespace {

namespace fs = std::filesystem;

std::string errno_text() { return std::generic_category().message(errno); }

bool exists(std::string_view path) {
  struct stat status {};
  return ::stat(std::string(path).c_str(), &status) == 0;
}

// Mounts the config drive for the lifetime of the object; unmounts and removes the mount point after.
class MountedDrive {
public:
  static Result<std::unique_ptr<MountedDrive>> mount(std::string_view device) {
    std::string directory = "/run/cordon-provision-XXXXXX";
    if (::mkdtemp(directory.data()) == nullptr)
      return fail(Errc::io_error, "cannot create a mount point under /run: " + errno_text());
    if (::mount(std::string(device).c_str(), directory.c_str(), "vfat", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                nullptr) != 0) {
      const std::string reason = errno_text();
      ::rmdir(directory.c_str());
      return fail(Errc::io_error, fmt::format("cannot mount the config drive {}: {}", device, reason));
    }
    return std::unique_ptr<MountedDrive>(new MountedDrive(std::move(directory)));
  }
  ~MountedDrive() {
    ::umount2(m_directory.c_str(), 0);
    ::rmdir(m_directory.c_str());
  }
  MountedDrive(const MountedDrive&) = delete;
  MountedDrive& operator=(const MountedDrive&) = delete;
  fs::path path() const { return m_directory; }

private:
  explicit MountedDrive(std::string directory) : m_directory(std::move(directory)) {}
  std::string m_directory;
};

} // namespace

Result<std::string> read_bundle_file(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const Errc code = errno == ENOENT ? Errc::not_found : Errc::io_error;
    return fail(code, "cannot open the bundle " + path.string() + ": " + errno_text());
  }
  std::string text;
  char buffer[64 << 10];
  while (true) {
    const ssize_t got = ::read(fd, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      const std::string reason = errno_text();
      ::close(fd);
      return fail(Errc::io_error, "cannot read the bundle " + path.string() + ": " + reason);
    }
    if (got == 0) break;
    text.append(buffer, static_cast<std::size_t>(got));
    if (text.size() > max_bundle_bytes) {
      ::close(fd);
      return fail(Errc::too_large, fmt::format("the bundle {} is larger than {} bytes (1 MiB)", path.string(), max_bundle_bytes));
    }
  }
  ::close(fd);
  return text;
}

Result<BundleText> find_bundle(const std::optional<fs::path>& explicit_path, std::chrono::seconds drive_wait) {
  if (explicit_path) return BundleText{CORDON_TRY(read_bundle_file(*explicit_path)), explicit_path->string()};
  if (exists(paths::system_credential))
    return BundleText{CORDON_TRY(read_bundle_file(std::string(paths::system_credential))),
                      "the system credential " + std::string(paths::system_credential)};
  const auto deadline = std::chrono::steady_clock::now() + drive_wait;
  while (!exists(paths::config_drive)) {
    if (std::chrono::steady_clock::now() >= deadline)
      return fail(Errc::not_found, fmt::format("no bundle: not given with --bundle, no {}, and no config drive {} after {} s",
                                               paths::system_credential, paths::config_drive, drive_wait.count()));
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  const auto drive = CORDON_TRY(MountedDrive::mount(paths::config_drive));
  auto text = CORDON_TRY(read_bundle_file(drive->path() / paths::config_drive_bundle));
  return BundleText{std::move(text), "the config drive " + std::string(paths::config_drive)};
}

} // namespace cordon::provisioning

#include "provisioning/file_installer.h"

#include <optional>
#include <set>
#include <system_error>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "provisioning/account_files.h"

namespace cordon::provisioning {
namespace {

namespace fs = std::filesystem;

struct Owner {
  uid_t uid;
  gid_t gid;
};

std::string errno_text() { return std::generic_category().message(errno); }

Result<void> write_all(int fd, std::string_view content) {
  while (!content.empty()) {
    const ssize_t written = ::write(fd, content.data(), content.size());
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) return fail(Errc::io_error, errno_text());
    content.remove_prefix(static_cast<std::size_t>(written));
  }
  return ok();
}

Result<void> write_file(const fs::path& path, std::string_view content, mode_t mode, std::optional<Owner> owner) {
  const fs::path temporary = path.string() + ".cordon-provision";
  ::unlink(temporary.c_str()); // left by an interrupted run
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return fail(Errc::io_error, "cannot create " + temporary.string() + ": " + errno_text());
  auto written = write_all(fd, content);
  bool done = written.has_value();
  if (done && owner) done = ::fchown(fd, owner->uid, owner->gid) == 0;
  // After fchown, which may clear mode bits; and explicit, so the umask does not matter.
  done = done && ::fchmod(fd, mode) == 0 && ::fsync(fd) == 0;
  const std::string failure = done ? "" : errno_text();
  ::close(fd);
  if (done && ::rename(temporary.c_str(), path.c_str()) == 0) return ok();
  const std::string reason = done ? errno_text() : failure;
  ::unlink(temporary.c_str());
  return fail(Errc::io_error, "cannot write " + path.string() + ": " + reason);
}

Result<void> sync_directory(const fs::path& directory) {
  const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const bool synced = fd >= 0 && ::fsync(fd) == 0;
  if (fd >= 0) ::close(fd);
  if (!synced) return fail(Errc::io_error, "cannot sync " + directory.string() + ": " + errno_text());
  return ok();
}

// The owner each file gets: its planned user and group, or (keep_existing_owner) what the file
// has now. nullopt throughout with Ownership::skip, except that existing ownership is kept.
Result<std::vector<std::optional<Owner>>> resolve_owners(const InstallPlan& plan, const fs::path& root,
                                                         Ownership ownership) {
  std::vector<std::optional<Owner>> owners;
  std::optional<AccountFiles> accounts;
  if (ownership == Ownership::apply) accounts = CORDON_TRY(AccountFiles::load(root));
  for (const auto& file : plan.files) {
    if (ownership == Ownership::skip) {
      owners.emplace_back();
    } else if (file.keep_existing_owner) {
      struct stat status {};
      if (::stat((root / file.path).c_str(), &status) != 0)
        return fail(Errc::io_error, "cannot stat " + (root / file.path).string() + ": " + errno_text());
      owners.emplace_back(Owner{status.st_uid, status.st_gid});
    } else {
      owners.emplace_back(Owner{CORDON_TRY(accounts->uid_of(file.user)), CORDON_TRY(accounts->gid_of(file.group))});
    }
  }
  return owners;
}

Result<mode_t> existing_mode(const fs::path& path, mode_t fallback) {
  struct stat status {};
  if (::stat(path.c_str(), &status) != 0) {
    if (errno == ENOENT) return fallback;
    return fail(Errc::io_error, "cannot stat " + path.string() + ": " + errno_text());
  }
  return status.st_mode & 07777;
}

} // namespace

Result<void> install(const InstallPlan& plan, const fs::path& root, Ownership ownership) {
  const auto owners = CORDON_TRY(resolve_owners(plan, root, ownership));
  std::vector<mode_t> modes;
  for (const auto& file : plan.files)
    modes.push_back(file.keep_existing_owner ? CORDON_TRY(existing_mode(root / file.path, file.mode)) : file.mode);

  for (const auto& directory : plan.directories) {
    const fs::path path = root / directory.path;
    std::error_code error;
    fs::create_directories(path, error);
    if (error) return fail(Errc::io_error, "cannot create " + path.string() + ": " + error.message());
    if (::chmod(path.c_str(), directory.mode) != 0)
      return fail(Errc::io_error, "cannot chmod " + path.string() + ": " + errno_text());
  }
  std::set<fs::path> touched;
  for (std::size_t i = 0; i < plan.files.size(); ++i) {
    const fs::path path = root / plan.files[i].path;
    std::error_code error;
    fs::create_directories(path.parent_path(), error);
    if (error) return fail(Errc::io_error, "cannot create " + path.parent_path().string() + ": " + error.message());
    CORDON_TRY_VOID(write_file(path, plan.files[i].content, modes[i], owners[i]));
    touched.insert(path.parent_path());
  }
  for (const auto& removal : plan.removals) {
    const fs::path path = root / removal;
    if (::unlink(path.c_str()) == 0) touched.insert(path.parent_path());
    else if (errno != ENOENT) return fail(Errc::io_error, "cannot remove " + path.string() + ": " + errno_text());
  }
  for (const auto& directory : touched) CORDON_TRY_VOID(sync_directory(directory));
  return ok();
}

} // namespace cordon::provisioning

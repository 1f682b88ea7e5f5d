#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "common/error.h"
#include "common/file_descriptor.h"

namespace cordon::agentd {

// The directory the fs.* tools act in. Every path an agent gives is relative to it and is
// resolved by the kernel with openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS |
// RESOLVE_NO_SYMLINKS): no "..", absolute path or symbolic link can reach outside, not even one
// planted inside the workspace (symbolic links are refused, not followed).
class Workspace {
public:
  // Errc::not_found if `root` is not a directory.
  static Result<std::unique_ptr<Workspace>> open(const std::filesystem::path& root);

  // Checks an agent's path: 1..4096 bytes, relative, no NUL, no empty/"."/".." component, not
  // under a name starting with ".cordon". Errc::invalid_argument naming the problem.
  static Result<void> check_path(std::string_view path);

  // Opens `path` (checked) with `flags` (O_RDONLY, …), beneath the root.
  Result<FileDescriptor> open_file(std::string_view path, int flags, unsigned mode = 0) const;
  // Opens the directory holding `path`, creating missing directories (mode 0750) when
  // `create`; `leaf` receives the last component.
  Result<FileDescriptor> open_parent(std::string_view path, bool create, std::string& leaf) const;

  // agentd's own directory inside the workspace, ".cordon-trash" (created, mode 0700): on the
  // workspace's file system, so a soft delete is a rename, and out of the agent's reach, since
  // check_path refuses names starting with ".cordon".
  Result<FileDescriptor> trash_directory() const;

  const std::filesystem::path& root() const { return m_root; }

private:
  Workspace(std::filesystem::path root, FileDescriptor fd) : m_root(std::move(root)), m_fd(std::move(fd)) {}
  std::filesystem::path m_root;
  FileDescriptor m_fd;
};

} // namespace cordon::agentd

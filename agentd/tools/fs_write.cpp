#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agentd/tools/fs_tools.h"
#include "common/crypto.h"
#include "common/encoding.h"

namespace cordon::agentd {
namespace {

std::string errno_text() { return std::strerror(errno); }

class FsWrite final : public Tool {
public:
  explicit FsWrite(const Workspace& workspace) : m_workspace(workspace), m_spec(*tools::find_tool("fs.write")) {}
  const tools::ToolSpec& spec() const override { return m_spec; }

  Result<ToolOutput> run(const Json& arguments, const std::string&) override {
    const std::string path = arguments["path"];
    const std::string& content = arguments["content"].get_ref<const std::string&>();
    std::string leaf;
    auto directory = CORDON_TRY(m_workspace.open_parent(path, true, leaf));
    const bool replaced = exists(directory.get(), leaf);
    const auto random = CORDON_TRY(crypto::random_bytes(8));
    const std::string temporary = ".cordon-write-" + to_hex(random);
    FileDescriptor fd(::openat(directory.get(), temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640));
    if (fd.get() < 0) return fail(Errc::io_error, "cannot write " + path + ": " + errno_text());
    const auto discard = [&] { ::unlinkat(directory.get(), temporary.c_str(), 0); };
    std::size_t written = 0;
    while (written < content.size()) {
      const ssize_t n = ::write(fd.get(), content.data() + written, content.size() - written);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        const std::string reason = errno_text();
        discard();
        return fail(Errc::io_error, "cannot write " + path + ": " + reason);
      }
      written += static_cast<std::size_t>(n);
    }
    if (::fsync(fd.get()) != 0 || ::renameat(directory.get(), temporary.c_str(), directory.get(), leaf.c_str()) != 0) {
      const std::string reason = errno_text();
      discard();
      return fail(Errc::io_error, "cannot write " + path + ": " + reason);
    }
    ::fsync(directory.get());
    ToolOutput out;
    out.text = std::string(replaced ? "replaced " : "created ") + path + " (" + std::to_string(content.size()) + " bytes)";
    out.structured = {{"path", path}, {"bytes", content.size()}, {"replaced", replaced}};
    out.audit = out.structured;
    out.audit["sha256"] = to_hex(crypto::sha256(as_bytes(content)));
    return out;
  }

  Result<ToolOutput> simulate(const Json& arguments, const std::string&) override {
    const std::string path = arguments["path"];
    CORDON_TRY_VOID(Workspace::check_path(path));
    std::string leaf;
    auto directory = m_workspace.open_parent(path, false, leaf);
    const bool replaced = directory && exists(directory->get(), leaf);
    const std::size_t bytes = arguments["content"].get_ref<const std::string&>().size();
    ToolOutput out;
    out.text = "dry run: would " + std::string(replaced ? "replace " : "create ") + path + " (" + std::to_string(bytes) + " bytes)";
    out.structured = {{"path", path}, {"bytes", bytes}, {"replaced", replaced}, {"dry_run", true}};
    out.audit = out.structured;
    return out;
  }

private:
  static bool exists(int directory, const std::string& leaf) {
    struct stat info {};
    return ::fstatat(directory, leaf.c_str(), &info, AT_SYMLINK_NOFOLLOW) == 0;
  }

  const Workspace& m_workspace;
  const tools::ToolSpec& m_spec;
};

} // namespace

std::unique_ptr<Tool> make_fs_write(const Workspace& workspace) { return std::make_unique<FsWrite>(workspace); }

} // namespace cordon::agentd

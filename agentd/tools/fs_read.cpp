#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agentd/tools/fs_tools.h"
#include "common/utf8.h"

namespace cordon::agentd {
namespace {

constexpr std::int64_t default_max_bytes = 256 << 10;

class FsRead final : public Tool {
public:
  explicit FsRead(const Workspace& workspace) : m_workspace(workspace), m_spec(*tools::find_tool("fs.read")) {}
  const tools::ToolSpec& spec() const override { return m_spec; }

  Result<ToolOutput> run(const Json& arguments, const std::string&) override {
    const std::string path = arguments["path"];
    const std::int64_t limit = arguments.value("max_bytes", default_max_bytes);
    auto fd = CORDON_TRY(m_workspace.open_file(path, O_RDONLY | O_NOFOLLOW));
    struct stat info {};
    if (::fstat(fd.get(), &info) != 0 || !S_ISREG(info.st_mode)) {
      return fail(Errc::invalid_argument, path + " is not a regular file");
    }
    std::string content(static_cast<std::size_t>(std::min<std::int64_t>(info.st_size, limit)), '\0');
    std::size_t got = 0;
    while (got < content.size()) {
      const ssize_t n = ::read(fd.get(), content.data() + got, content.size() - got);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return fail(Errc::io_error, "cannot read " + path + ": " + std::strerror(errno));
      if (n == 0) break;
      got += static_cast<std::size_t>(n);
    }
    content.resize(got);
    const bool truncated = info.st_size > limit;
    if (truncated) {
      // The cut may fall inside a character: drop its incomplete last bytes (at most 3).
      for (std::size_t drop = 0; drop < 4 && drop < content.size(); ++drop) {
        const std::size_t start = content.size() - drop - 1;
        if ((static_cast<unsigned char>(content[start]) & 0xc0) == 0x80) continue;
        if (utf8_sequence_length(content, start) == 0) content.resize(start);
        break;
      }
    }
    if (utf8_first_invalid(content)) return fail(Errc::invalid_argument, path + " is not UTF-8 text");
    ToolOutput out;
    out.untrusted = true;
    out.structured = {{"path", path}, {"bytes", info.st_size}, {"truncated", truncated}};
    out.audit = {{"path", path}, {"bytes", info.st_size}, {"returned_bytes", content.size()}};
    out.text = std::move(content);
    return out;
  }

  // Reading changes nothing, so a dry run reads too.
  Result<ToolOutput> simulate(const Json& arguments, const std::string& run_id) override { return run(arguments, run_id); }

private:
  const Workspace& m_workspace;
  const tools::ToolSpec& m_spec;
};

} // namespace

std::unique_ptr<Tool> make_fs_read(const Workspace& workspace) { return std::make_unique<FsRead>(workspace); }

} // namespace cordon::agentd

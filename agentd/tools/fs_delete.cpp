#include <fcntl.h>
#include <sys/stat.h>

#include "agentd/tools/fs_tools.h"
#include "agentd/tools/two_phase.h"

namespace cordon::agentd {
namespace {

class FsDelete final : public Tool {
public:
  FsDelete(const Workspace& workspace, TwoPhaseDeletes& deletes)
      : m_workspace(workspace), m_deletes(deletes), m_spec(*tools::find_tool("fs.delete")) {}
  const tools::ToolSpec& spec() const override { return m_spec; }

  Result<ToolOutput> run(const Json& arguments, const std::string& run_id) override {
    const std::string path = arguments["path"];
    auto pending = CORDON_TRY(m_deletes.soft_delete(path, run_id));
    ToolOutput out;
    out.text = "moved " + path + " to the trash; it is deleted for good at " + pending.due_at +
               " unless an operator reinstates it (" + pending.id + ")";
    out.structured = {{"path", path}, {"pending_id", pending.id}, {"hard_phase_at", pending.due_at}};
    out.audit = out.structured;
    return out;
  }

  Result<ToolOutput> simulate(const Json& arguments, const std::string&) override {
    const std::string path = arguments["path"];
    std::string leaf;
    auto directory = CORDON_TRY(m_workspace.open_parent(path, false, leaf));
    struct stat info {};
    const bool exists = ::fstatat(directory.get(), leaf.c_str(), &info, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(info.st_mode);
    ToolOutput out;
    out.text = exists ? "dry run: would move " + path + " to the trash and delete it for good after " +
                            std::to_string(m_deletes.window().count()) + " s"
                      : "dry run: " + path + " does not exist; nothing would be deleted";
    out.structured = {{"path", path}, {"exists", exists}, {"dry_run", true}};
    out.audit = out.structured;
    return out;
  }

private:
  const Workspace& m_workspace;
  TwoPhaseDeletes& m_deletes;
  const tools::ToolSpec& m_spec;
};

} // namespace

std::unique_ptr<Tool> make_fs_delete(const Workspace& workspace, TwoPhaseDeletes& deletes) {
  return std::make_unique<FsDelete>(workspace, deletes);
}

} // namespace cordon::agentd

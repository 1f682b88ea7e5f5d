#include "cli/approvals_command.h"

#include <ostream>

#include "cli/daemon_answer.h"
#include "common/ipc/unix_client.h"
#include "common/json.h"

namespace cordon::cli {

Result<void> run_approvals_command(const ApprovalsCommand& command, std::ostream& out) {
  ipc::UnixClient client(command.socket);
  const auto body = CORDON_TRY(answer_json(client.get("/v1/approvals"), "approvald"));
  const Json approvals = body.value("approvals", Json::array());
  if (approvals.empty()) {
    out << "no pending approvals\n";
    return ok();
  }
  for (const auto& approval : approvals) {
    out << approval.value("id", "") << "  " << approval.value("agent", "") << " wants " << approval.value("tool", "")
        << " (run " << approval.value("run_id", "") << ")\n";
    out << "  needs:    ";
    for (const auto& requirement : approval.value("requirements", Json::array()))
      out << requirement.value("count", 0) << " of " << requirement.value("group", "") << " ";
    out << "\n  answered: ";
    const Json grants = approval.value("grants", Json::array());
    if (grants.empty()) out << "nobody yet";
    for (const auto& grant : grants) out << grant.value("approver", "") << " (" << grant.value("choice", "") << ") ";
    out << "\n  held for: ";
    for (const auto& reason : approval.value("reasons", Json::array())) out << (reason.is_string() ? reason.get<std::string>() : reason.dump()) << "; ";
    out << "\n  opened " << approval.value("created_at", "") << ", closes " << approval.value("deadline", "") << "\n";
  }
  return ok();
}

} // namespace cordon::cli

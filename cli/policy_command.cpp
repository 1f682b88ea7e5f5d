#include "cli/policy_command.h"

#include <ostream>

#include "cli/daemon_answer.h"
#include "common/ipc/unix_client.h"
#include "common/json.h"

namespace cordon::cli {

Result<void> run_policy_command(const PolicyCommand& command, std::ostream& out) {
  ipc::UnixClient client(command.socket);
  const bool reload = command.action == PolicyCommand::Action::reload;
  const auto body =
      CORDON_TRY(answer_json(reload ? client.post("/v1/policy/reload", "{}") : client.get("/v1/status"), "approvald"));
  if (reload) {
    out << (body.value("changed", false) ? "reloaded: " : "unchanged: ") << body.value("policy_version", "") << "\n";
    if (body.value("changed", false)) out << "previous: " << body.value("previous_version", "") << "\n";
    return ok();
  }
  out << "policy " << body.value("policy_version", "") << "\nmode " << body.value("mode", "") << "\nrules "
      << body.value("rules", 0) << "\npending approvals " << body.value("pending_approvals", 0) << "\n";
  return ok();
}

} // namespace cordon::cli

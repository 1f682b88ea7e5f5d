#include "cli/policy_command.h"

#include <ostream>

#include "common/ipc/client_request.h"
#include "common/ipc/unix_client.h"
#include "common/json.h"

namespace cordon::cli {

Result<void> run_policy_command(const PolicyCommand& command, std::ostream& out) {
  ipc::UnixClient client(command.socket);
  const bool reload = command.action == PolicyCommand::Action::reload;
  auto response = reload ? client.post("/v1/policy/reload", "{}") : client.get("/v1/status");
  if (!response) return fail(response.error().code, "cannot reach approvald: " + response.error().message);
  if (response->status != 200) return tl::unexpected(ipc::error_from_response(*response));
  const auto body = CORDON_TRY(parse_json(response->body));
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

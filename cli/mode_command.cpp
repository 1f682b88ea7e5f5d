#include "cli/mode_command.h"

#include <ostream>

#include "common/ipc/client_request.h"
#include "common/ipc/unix_client.h"
#include "common/json.h"

namespace cordon::cli {

Result<void> run_mode_command(const ModeCommand& command, std::ostream& out) {
  ipc::UnixClient client(command.socket);
  if (command.requested.empty()) {
    auto response = client.get("/v1/status");
    if (!response) return fail(response.error().code, "cannot reach approvald: " + response.error().message);
    if (response->status != 200) return tl::unexpected(ipc::error_from_response(*response));
    const auto body = CORDON_TRY(parse_json(response->body));
    out << "mode " << body.value("mode", "") << "\n";
    if (body.value("mode", "") == "dry_run") out << "dry-run period until " << body.value("dry_run_until", "") << "\n";
    return ok();
  }
  auto response = client.post("/v1/mode", Json{{"mode", command.requested}}.dump());
  if (!response) return fail(response.error().code, "cannot reach approvald: " + response.error().message);
  if (response->status != 202) return tl::unexpected(ipc::error_from_response(*response));
  const auto body = CORDON_TRY(parse_json(response->body));
  out << "switch to " << command.requested << " is " << body.value("state", "") << ": approval "
      << body.value("approval_id", "") << " (the approvers got their links)\n";
  return ok();
}

} // namespace cordon::cli

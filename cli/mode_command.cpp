#include "cli/mode_command.h"

#include <ostream>

#include "cli/daemon_answer.h"
#include "common/ipc/unix_client.h"
#include "common/json.h"

namespace cordon::cli {

Result<void> run_mode_command(const ModeCommand& command, std::ostream& out) {
  ipc::UnixClient client(command.socket);
  if (command.requested.empty()) {
    const auto body = CORDON_TRY(answer_json(client.get("/v1/status"), "approvald"));
    out << "mode " << body.value("mode", "") << "\n";
    if (body.value("mode", "") == "dry_run") out << "dry-run period until " << body.value("dry_run_until", "") << "\n";
    return ok();
  }
  const auto body = CORDON_TRY(answer_json(client.post("/v1/mode", Json{{"mode", command.requested}}.dump()), "approvald", 202));
  out << "switch to " << command.requested << " is " << body.value("state", "") << ": approval "
      << body.value("approval_id", "") << " (the approvers got their links)\n";
  return ok();
}

} // namespace cordon::cli

#include "cli/status_command.h"

#include <ostream>

#include <fmt/format.h>

#include "cli/daemon_answer.h"
#include "common/ipc/unix_client.h"
#include "common/json.h"

namespace cordon::cli {
namespace {

Result<Json> status_of(const std::string& socket) {
  ipc::UnixClient client(socket, ipc::ClientOptions{.timeout = std::chrono::milliseconds(5000)});
  return answer_json(client.get("/v1/status"), "");
}

// "active", "inactive", ... as systemctl says; what went wrong when it cannot say.
std::string unit_state(const StatusCommand& command, const std::string& daemon) {
  auto ran = command.run({"systemctl", "is-active", "cordon-" + daemon + ".service"});
  if (!ran) return "unknown (" + ran.error().message + ")";
  // One word ("active", "failed") when systemd answers; its complaint otherwise (no systemd).
  const std::string state = ran->output.substr(0, ran->output.find('\n'));
  return state.empty() || state.find(' ') != std::string::npos ? "unknown" : state;
}

std::string text(const Json& status, const char* key) {
  const auto found = status.find(key);
  if (found == status.end() || found->is_null()) return "-";
  return found->is_string() ? found->get<std::string>() : found->dump();
}

} // namespace

Result<void> run_status_command(const StatusCommand& command, std::ostream& out) {
  struct Daemon {
    std::string name;
    const std::string& socket;
    Result<Json> status = Json();
  };
  std::vector<Daemon> daemons = {{"auditd", command.auditd_socket},
                                 {"secretsd", command.secretsd_socket},
                                 {"approvald", command.approvald_socket},
                                 {"agentd", command.agentd_socket}};
  bool all_answered = true;
  out << "daemons:\n";
  for (auto& daemon : daemons) {
    daemon.status = status_of(daemon.socket);
    all_answered = all_answered && daemon.status.has_value();
    out << fmt::format("  {:<10} unit {:<12} {}\n", daemon.name, unit_state(command, daemon.name),
                       daemon.status ? "answers" : "does not answer: " + daemon.status.error().message);
  }
  const auto& auditd = daemons[0].status;
  const auto& secretsd = daemons[1].status;
  const auto& approvald = daemons[2].status;
  const auto& agentd = daemons[3].status;
  if (secretsd) out << "tenant:            " << text(*secretsd, "tenant") << "\n";
  if (approvald) {
    out << "mode:              " << text(*approvald, "mode");
    if (approvald->value("mode", "") == "dry_run") out << " until " << text(*approvald, "dry_run_until");
    out << "\npolicy:            " << text(*approvald, "policy_version") << " (" << text(*approvald, "rules") << " rules)\n"
        << "pending approvals: " << text(*approvald, "pending_approvals") << "\n";
  }
  if (secretsd)
    out << "KEK custody:       " << text(*secretsd, "kek") << "; vault " << text(*secretsd, "state") << ", "
        << text(*secretsd, "secrets") << (secretsd->value("secrets", 0) == 1 ? " secret\n" : " secrets\n");
  if (auditd) {
    out << "ledger:            " << text(*auditd, "size") << " entries, root " << text(*auditd, "root") << "\n"
        << "last checkpoint:   size " << text(*auditd, "checkpoint_size") << ", signed by " << text(*auditd, "verifier_key")
        << "\n";
    const Json sinks = auditd->value("sinks", Json::array());
    for (const auto& sink : sinks) out << "sink:              " << sink.dump() << "\n";
  }
  if (agentd) out << "MCP sessions:      " << text(*agentd, "sessions") << "\n";
  if (!all_answered) return fail(Errc::unavailable, "not every daemon answers (above)");
  return ok();
}

} // namespace cordon::cli

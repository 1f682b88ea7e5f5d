#include "cli/runs_command.h"

#include <ostream>

#include "cli/daemon_answer.h"
#include "common/ipc/unix_client.h"
#include "common/json.h"

namespace cordon::cli {
namespace {

void print_run(const Json& run, std::ostream& out) {
  out << "agent:           " << run.value("agent", "") << "\n"
      << "task:            " << run.value("task", "") << "\n"
      << "registered by:   " << run.value("registered_by", "") << " at " << run.value("created_at", "") << "\n"
      << "untrusted spans: " << run.value("untrusted_spans", 0) << "\n";
  const Json flags = run.value("flags", Json::array());
  out << "flags:           " << (flags.empty() ? std::string("none") : flags.dump()) << "\n";
}

} // namespace

Result<void> run_runs_command(const RunsCommand& command, std::ostream& out) {
  ipc::UnixClient client(command.socket);
  const bool registering = command.action == RunsCommand::Action::register_run;
  if (!registering && (command.id.empty() ||
                       command.id.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") != std::string::npos))
    return fail(Errc::invalid_argument, "a run id is r- and hex digits, e.g. r-0123abcd...");
  auto response = registering ? client.post("/v1/runs", Json{{"agent", command.agent}, {"task", command.task}}.dump())
                              : client.get("/v1/runs/" + command.id);
  const auto run = CORDON_TRY(answer_json(std::move(response), "agentd", registering ? 201 : 200));
  out << run.value("run_id", "") << "\n";
  print_run(run, out);
  return ok();
}

} // namespace cordon::cli

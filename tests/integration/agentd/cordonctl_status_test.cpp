// cordonctl status against the four running daemons: one screen with each daemon's answer, the
// mode, KEK custody, the ledger and pending approvals; a daemon that does not answer is named
// and makes the command fail.
#include "tests/integration/agentd/helpers.h"

using namespace cordon;
using namespace cordon::testing;

namespace {
CommandResult cordonctl_status(RunningAgentd& stack) {
  return run_command("CORDON_AUDITD_SOCKET=" + stack.gate.auditd.socket_path() +
                     " CORDON_SECRETSD_SOCKET=" + stack.gate.secretsd.socket_path() +
                     " CORDON_APPROVALD_SOCKET=" + stack.gate.approvald.socket_path() +
                     " CORDON_AGENTD_SOCKET=" + stack.agentd.socket_path() + " " + binary_path("cordonctl") +
                     " status </dev/null");
}
} // namespace

TEST_CASE("cordonctl status shows every daemon's answer, the mode, the KEK, the ledger and pending approvals") {
  RunningAgentd stack;
  McpClient client(stack.agentd.socket_path(), stack.register_run("Write a summary to summary.txt"));
  client.initialize();
  CHECK(client.call("fs.write", {{"path", "summary.txt"}, {"content", "x"}})["isError"] == true); // held for rita

  auto status = cordonctl_status(stack);
  INFO(status.output);
  REQUIRE(status.status == 0);
  for (const char* daemon : {"auditd", "secretsd", "approvald", "agentd"})
    CHECK_THAT(status.output, Catch::Matches("(.|\n)*  " + std::string(daemon) + " +unit [^\n]* answers\n(.|\n)*"));
  CHECK_THAT(status.output, Catch::Contains("tenant:            test\n"));
  CHECK_THAT(status.output, Catch::Contains("mode:              live\n")); // the test stack has no dry-run period
  CHECK_THAT(status.output, Catch::Contains("pending approvals: 1\n"));
  CHECK_THAT(status.output, Catch::Contains("KEK custody:       key_file"));
  CHECK_THAT(status.output, Catch::Matches("(.|\n)*; vault ready, (1 secret|[02-9] secrets|[1-9][0-9]+ secrets)\n(.|\n)*"));
  CHECK_THAT(status.output, Catch::Matches("(.|\n)*ledger:            [1-9][0-9]* entries, root [A-Za-z0-9+/=]+\n(.|\n)*"));
  CHECK_THAT(status.output, Catch::Contains("MCP sessions:      1\n"));
}

TEST_CASE("cordonctl status names a daemon that does not answer and fails") {
  RunningAgentd stack;
  stack.gate.approvald.stop();
  auto status = cordonctl_status(stack);
  INFO(status.output);
  CHECK(status.status == 1);
  CHECK_THAT(status.output, Catch::Matches("(.|\n)*  approvald +unit [^\n]* does not answer: [^\n]+\n(.|\n)*"));
  CHECK_THAT(status.output, Catch::Contains("not every daemon answers"));
  // What the others say is still shown.
  CHECK_THAT(status.output, Catch::Contains("KEK custody:       key_file"));
}

TEST_CASE("cordonctl approvals lists each held call with what it needs, and says when none is pending") {
  RunningAgentd stack;
  const std::string command = "CORDON_APPROVALD_SOCKET=" + stack.gate.approvald.socket_path() + " " +
                              binary_path("cordonctl") + " approvals </dev/null";
  auto none = run_command(command);
  CHECK(none.status == 0);
  CHECK(none.output == "no pending approvals\n");

  const std::string run = stack.register_run("Write a summary to summary.txt");
  McpClient client(stack.agentd.socket_path(), run);
  client.initialize();
  const Json held = client.call("fs.write", {{"path", "summary.txt"}, {"content", "x"}});
  const std::string approval = held["structuredContent"]["approval_id"];
  auto listed = run_command(command);
  INFO(listed.output);
  REQUIRE(listed.status == 0);
  CHECK(listed.output.starts_with(approval + "  support-bot wants fs.write (run " + run + ")\n"));
  CHECK_THAT(listed.output, Catch::Contains("  needs:    1 of reviewers"));
  CHECK_THAT(listed.output, Catch::Contains("  answered: nobody yet\n"));
  CHECK_THAT(listed.output, Catch::Contains(", closes "));
  // The one-time links are never listed.
  CHECK(listed.output.find("/a/") == std::string::npos);
}

// cordonctl runs against a running agentd: the operator registers the run an agent acts for and
// reads it back; refusals are reported and register nothing.
#include "tests/integration/agentd/helpers.h"

using namespace cordon;
using namespace cordon::testing;

namespace {
CommandResult cordonctl(RunningAgentd& stack, const std::string& arguments) {
  return run_command("CORDON_AGENTD_SOCKET=" + stack.agentd.socket_path() + " " + binary_path("cordonctl") + " runs " +
                     arguments + " </dev/null");
}
} // namespace

TEST_CASE("cordonctl runs register prints the run's id first, and show reads the run back") {
  RunningAgentd stack;
  auto registered = cordonctl(stack, "register --agent support-bot --task 'Summarise notes.txt'");
  INFO(registered.output);
  REQUIRE(registered.status == 0);
  const std::string id = registered.output.substr(0, registered.output.find('\n'));
  CHECK(id.size() == 34);
  CHECK(id.starts_with("r-"));
  CHECK(registered.output.find("task:            Summarise notes.txt\n") != std::string::npos);
  CHECK(registered.output.find("registered by:   tester at ") != std::string::npos);
  CHECK(stack.gate.has_event("run.registered", id));

  // An agent can open a session for it at once.
  McpClient client(stack.agentd.socket_path(), id);
  CHECK(client.initialize()["protocolVersion"] == "2025-11-25");

  auto shown = cordonctl(stack, "show " + id);
  INFO(shown.output);
  REQUIRE(shown.status == 0);
  CHECK(shown.output.starts_with(id + "\nagent:           support-bot\n"));
  CHECK(shown.output.find("flags:           none\n") != std::string::npos);
}

TEST_CASE("cordonctl runs refuses a missing task, a malformed id and an unknown run") {
  RunningAgentd stack;
  const auto before = stack.gate.events("run.registered");
  CHECK(cordonctl(stack, "register --agent support-bot").status == 2);
  CHECK(cordonctl(stack, "register --task 'Summarise notes.txt'").status == 2);
  auto malformed = cordonctl(stack, "show '../pending'");
  CHECK(malformed.status == 1);
  CHECK(malformed.output.find("a run id is r- and hex digits") != std::string::npos);
  auto unknown = cordonctl(stack, "show r-00000000000000000000000000000000");
  CHECK(unknown.status == 1);
  CHECK(unknown.output.find("cordonctl: ") != std::string::npos);
  auto too_long = cordonctl(stack, "register --agent support-bot --task \"$(head -c 70000 /dev/zero | tr '\\0' a)\"");
  CHECK(too_long.status == 1);
  CHECK(stack.gate.events("run.registered") == before);
}

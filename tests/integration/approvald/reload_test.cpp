// Reloading the constitution: a new version takes effect once recorded; a broken one is refused
// and the one in force stays.
#include <csignal>
#include <fstream>

#include "tests/integration/approvald/helpers.h"
#include "tests/support/as_uid.h"

using namespace cordon;
using namespace cordon::testing;

namespace {

void write_constitution(RunningGate& stack, const std::string& text) {
  std::ofstream(stack.directory.path() / "constitution.d" / "10-test.toml", std::ios::trunc) << text;
}

std::string verdict_for_read(RunningGate& stack) {
  return json_of(stack.gate.post("/v1/decisions", proposal("fs.read", {{"path", "a"}}).dump()), 201)["decision"]["verdict"];
}

const char* deny_reads = "[[rule]]\nid='no-reads'\ndescription='No reads today.'\neffect='deny'\ntools=['fs.read']\n";

} // namespace

TEST_CASE("policy reload puts a changed constitution in force with a new policy_version, and records it") {
  RunningGate stack;
  const std::string before = json_of(stack.gate.get("/v1/status"), 200)["policy_version"];
  CHECK(verdict_for_read(stack) == "allow");
  write_constitution(stack, deny_reads);
  const Json reloaded = json_of(stack.gate.post("/v1/policy/reload", "{}"), 200);
  CHECK(reloaded["changed"] == true);
  CHECK(reloaded["previous_version"] == before);
  CHECK(reloaded["policy_version"] != before);
  CHECK(verdict_for_read(stack) == "deny");
  CHECK(stack.has_event("policy.reloaded", reloaded["policy_version"].get<std::string>()));
}

TEST_CASE("a constitution that does not parse is refused on reload and the old one stays in force") {
  RunningGate stack;
  const std::string before = json_of(stack.gate.get("/v1/status"), 200)["policy_version"];
  write_constitution(stack, "[[rule]]\nid='broken'\neffect='sometimes'\n");
  auto answer = stack.gate.post("/v1/policy/reload", "{}");
  require_problem(answer, 400, "invalid_argument");
  CHECK(answer->body.find("10-test.toml") != std::string::npos);
  CHECK(answer->body.find("stays in force") != std::string::npos);
  CHECK(json_of(stack.gate.get("/v1/status"), 200)["policy_version"] == before);
  CHECK(verdict_for_read(stack) == "allow");
  CHECK(stack.has_event("policy.reload_refused", "broken"));
}

TEST_CASE("SIGHUP reloads the constitution") {
  RunningGate stack;
  write_constitution(stack, deny_reads);
  stack.approvald.signal(SIGHUP);
  bool denied = false;
  for (int i = 0; i < 100 && !denied; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    denied = stack.events("policy.reloaded").find("signal:SIGHUP") != std::string::npos;
  }
  REQUIRE(denied);
  CHECK(verdict_for_read(stack) == "deny");
}

TEST_CASE("approvald refuses to start on a constitution that does not parse, naming the file") {
  TempDir directory{"cordon-ap"};
  AuditdProcessOptions audit_options;
  audit_options.directory = directory.path();
  AuditdProcess auditd(audit_options);
  REQUIRE(auditd.start());
  std::filesystem::create_directories(directory.path() / "constitution.d");
  std::ofstream(directory.path() / "constitution.d" / "10-bad.toml") << "[[rule]]\nid = 'x'\n";
  ApprovaldProcessOptions options;
  options.directory = directory.path();
  options.audit_socket = auditd.socket_path();
  options.secretsd_socket = (directory.path() / "none.sock").string();
  options.constitution_dir = directory.path() / "constitution.d";
  ApprovaldProcess approvald(options);
  auto started = approvald.start();
  REQUIRE_FALSE(started);
  CHECK(approvald.log_tail().find("10-bad.toml") != std::string::npos);
}

TEST_CASE("only an admin may reload the policy, with an empty body") {
  RunningGate stack;
  std::filesystem::permissions(stack.directory.path(), std::filesystem::perms(0755));
  CHECK(status_as_uid(stack.approvald.socket_path(), 65534, ipc::Method::post, "/v1/policy/reload", "{}") == 403);
  CHECK(stack.has_event("access.denied", "/v1/policy/reload"));
  require_problem(stack.gate.post("/v1/policy/reload", "{\"extra\": 1}"), 400, "unknown_field");
}

TEST_CASE("cordonctl policy reload puts a new constitution in force, and reports a broken one with its file") {
  RunningGate stack;
  const std::string cordonctl = "CORDON_APPROVALD_SOCKET=" + stack.approvald.socket_path() + " " + binary_path("cordonctl");
  write_constitution(stack, deny_reads);
  const auto reloaded = run_command(cordonctl + " policy reload");
  INFO(reloaded.output);
  CHECK(reloaded.status == 0);
  CHECK(reloaded.output.find("reloaded: sha256:") != std::string::npos);
  CHECK(verdict_for_read(stack) == "deny");
  write_constitution(stack, "[[rule]]\nid='x'\n");
  const auto refused = run_command(cordonctl + " policy reload");
  CHECK(refused.status != 0);
  CHECK(refused.output.find("10-test.toml") != std::string::npos);
  const auto status = run_command(cordonctl + " policy status");
  CHECK(status.status == 0);
  CHECK(status.output.find("mode live") != std::string::npos);
}

TEST_CASE("cordon-policy replay re-evaluates the ledger's decisions under an edited constitution") {
  RunningGate stack;
  CHECK(verdict_for_read(stack) == "allow");
  json_of(stack.gate.post("/v1/decisions", proposal("fs.write", {{"path", "secrets/k"}, {"content", "x"}}).dump()), 201);
  const auto exported = stack.directory.path() / "decisions.jsonl";
  {
    std::ofstream out(exported);
    out << stack.events("decision.issued");
  }
  const auto edited = stack.directory.path() / "edited.d";
  std::filesystem::create_directories(edited);
  std::ofstream(edited / "10-test.toml") << deny_reads;
  const auto replay = run_command(binary_path("cordon-policy") + " replay --fail-on-change --constitution " + edited.string() +
                                  " " + exported.string());
  INFO(replay.output);
  CHECK(replay.status != 0);
  CHECK(replay.output.find("fs.read: allow -> deny") != std::string::npos);
  CHECK(replay.output.find("2 decisions replayed") != std::string::npos);
  const auto same = run_command(binary_path("cordon-policy") + " replay --fail-on-change --constitution " +
                                (stack.directory.path() / "constitution.d").string() + " " + exported.string());
  CHECK(same.status == 0);
  CHECK(same.output.find("2 unchanged") != std::string::npos);
}

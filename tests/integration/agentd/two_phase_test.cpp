// fs.delete end to end: the floor holds it (it is irreversible), a reviewer approves it over the
// real page with a second factor, the same call then runs its soft phase at once; an operator
// reinstates one file inside the window; the other's hard phase is pending across an agentd
// restart and runs after the window, recorded.
#include <thread>

#include "tests/integration/agentd/helpers.h"
#include "tests/integration/approvald/approval_stack.h"

using namespace cordon;
using namespace cordon::testing;

namespace {

const char* delete_constitution = R"(
[[rule]]
id = "review-deletes"
description = "A reviewer approves deletes."
effect = "require_approval"
tools = ["fs.delete"]
approval = { count = 1, group = "reviewers" }
)";

// fs.delete of `path`, held, approved by `approver` over the page, then made again: its result.
Json approved_delete(ApprovalStack& approvals, McpClient& agent, const std::string& path, const std::string& approver,
                     const std::string& secret) {
  const Json held = agent.call("fs.delete", {{"path", path}}, 0.9);
  INFO(held.dump());
  REQUIRE(held["isError"] == true);
  const std::string approval = held["structuredContent"]["approval_id"];
  auto answered = approvals.answer(approvals.link_for(approval, approver), code_now(secret), "approve");
  REQUIRE(answered);
  REQUIRE(answered->status == 200);
  return agent.call("fs.delete", {{"path", path}}, 0.9);
}

std::filesystem::path trash_of(const AgentdProcess& agentd) { return agentd.workspace() / ".cordon-trash"; }

} // namespace

TEST_CASE("two-phase delete: soft once approved, reinstated inside the window, hard after it across a restart") {
  ApprovalStack approvals("", 0, delete_constitution);
  AgentdProcess agentd([&] {
    AgentdProcessOptions options;
    options.directory = approvals.scratch.path();
    options.audit_socket = approvals.stack.auditd.socket_path();
    options.approvald_socket = approvals.stack.approvald.socket_path();
    options.secretsd_socket = approvals.stack.secretsd.socket_path();
    options.extra_toml = "reinstate_window_s = 4\n";
    return options;
  }());
  REQUIRE(agentd.start());
  std::filesystem::create_directories(agentd.workspace() / "old");
  std::ofstream(agentd.workspace() / "old/keep.txt") << "keep";
  std::ofstream(agentd.workspace() / "old/drop.txt") << "drop";

  ipc::UnixClient admin(agentd.socket_path());
  auto registered = admin.post("/v1/runs", Json{{"agent", "cleaner"}, {"task", "Clean up old/"}}.dump());
  REQUIRE(registered->status == 201);
  McpClient agent(agentd.socket_path(), parse_json(registered->body).value()["run_id"]);
  agent.initialize();

  // Soft phase at once, once approved.
  const Json kept = approved_delete(approvals, agent, "old/keep.txt", "alice", alice_secret);
  INFO(kept.dump());
  REQUIRE(kept["isError"] == false);
  const std::string keep_id = kept["structuredContent"]["pending_id"];
  CHECK_FALSE(std::filesystem::exists(agentd.workspace() / "old/keep.txt"));
  CHECK(std::filesystem::exists(trash_of(agentd) / keep_id));

  // An operator reinstates it inside the window.
  auto reinstated = admin.post("/v1/pending/" + keep_id + "/reinstate", "");
  REQUIRE(reinstated);
  INFO(reinstated->body);
  CHECK(reinstated->status == 200);
  std::ifstream back(agentd.workspace() / "old/keep.txt");
  CHECK(std::string((std::istreambuf_iterator<char>(back)), {}) == "keep");
  CHECK(approvals.stack.has_event("tool.reinstated", keep_id));
  CHECK(admin.post("/v1/pending/" + keep_id + "/reinstate", "")->status == 409);

  // The other one's hard phase is pending when agentd stops, and runs after it comes back.
  const Json dropped = approved_delete(approvals, agent, "old/drop.txt", "bob", bob_secret);
  REQUIRE(dropped["isError"] == false);
  const std::string drop_id = dropped["structuredContent"]["pending_id"];
  REQUIRE(agentd.stop() == 0);
  std::this_thread::sleep_for(std::chrono::seconds(5)); // the window passes while agentd is down
  CHECK(std::filesystem::exists(trash_of(agentd) / drop_id)); // nothing ran it meanwhile
  REQUIRE(agentd.start());
  bool done = false;
  for (int i = 0; i < 100 && !done; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    done = !std::filesystem::exists(trash_of(agentd) / drop_id);
  }
  CHECK(done);
  CHECK(approvals.stack.has_event("tool.hard_phase", drop_id));
  ipc::UnixClient after(agentd.socket_path());
  const Json pending = parse_json(after.get("/v1/pending")->body).value()["pending"];
  REQUIRE(pending.size() == 2);
  for (const auto& entry : pending) CHECK(entry["state"] == (entry["id"] == keep_id ? "reinstated" : "done"));
  CHECK(after.post("/v1/pending/" + drop_id + "/reinstate", "")->status == 409);
  CHECK(std::filesystem::exists(agentd.workspace() / "old/keep.txt"));
}

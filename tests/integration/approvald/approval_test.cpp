// Human approvals end to end over real sockets: a held call, a signed webhook with one-time
// links, the approval page over HTTPS, the second factor checked by secretsd, the same call then
// allowed exactly once; and the refusals: wrong or replayed codes, used links, stale heads, SLA.
#include <fstream>

#include <sys/stat.h>

#include "approvald/notifier.h"
#include "common/clock.h"
#include "common/files.h"
#include "common/ipc/https_client.h"
#include "common/totp.h"
#include "tests/integration/approvald/approval_stack.h"

using namespace cordon;
using namespace cordon::testing;

namespace {

const Json write_call = proposal("fs.write", {{"path", "src/main.c"}, {"content", "int main() { return 0; }"}});

Json push_call(const std::string& head) {
  Json call = proposal("git.push", {{"repo", "acme/api"}, {"branch", "fix"}, {"head", head}});
  call["target"] = {{"repo", "acme/api"}, {"head", head}};
  return call;
}

} // namespace

TEST_CASE("an approved call runs once: webhook, page, TOTP, signed allow citing the approver, dead link") {
  ApprovalStack s;
  const Json held = s.decide(write_call);
  REQUIRE(held["decision"]["verdict"] == "pending");
  const std::string approval_id = held["decision"]["approval"]["id"];

  // The webhook is signed with the configured key and names only eligible approvers.
  auto delivery = s.receiver.wait_for({"\"event\":\"approval.requested\"", "\"approval_id\":\"" + approval_id + "\""});
  REQUIRE(delivery);
  CHECK(delivery->event == "approval.requested");
  CHECK(delivery->signature == approvald::webhook_signature(as_bytes(webhook_key), delivery->body));
  const Json announced = parse_json(delivery->body).value();
  std::vector<std::string> named;
  for (const auto& link : announced["links"]) named.push_back(link["approver"]);
  CHECK(named == std::vector<std::string>{"alice", "bob", "support-bot"});

  const std::string link = s.link_for(approval_id, "alice");
  // The Slack-compatible webhook gets one {"text"} with the same links, unsigned.
  auto slack = s.receiver.wait_for("{\"text\":\"Cordon approval " + approval_id);
  REQUIRE(slack);
  CHECK(slack->signature.empty());
  CHECK(slack->body.find("alice: https://") != std::string::npos);
  CHECK(parse_json(slack->body).value().size() == 1);
  auto page = s.web().get(link);
  REQUIRE(page);
  CHECK(page->status == 200);
  CHECK(page->body.find(held["decision"]["action_digest"].get<std::string>()) != std::string::npos);
  CHECK(page->body.find("A reviewer approves writes.") != std::string::npos);
  CHECK(page->body.find("int main() { return 0; }") != std::string::npos);
  CHECK(page->header("content-security-policy").find("default-src 'none'") != std::string::npos);
  CHECK(page->header("referrer-policy") == "no-referrer");

  auto wrong = s.answer(link, "000000", "approve");
  REQUIRE(wrong);
  CHECK(wrong->status == 403);
  auto approved = s.answer(link, code_now(alice_secret), "approve");
  REQUIRE(approved);
  INFO(approved->body);
  CHECK(approved->status == 200);
  CHECK(approved->body.find(">approved<") != std::string::npos);
  CHECK(s.web().get(link)->status == 410);
  CHECK(s.stack.has_event("approval.granted", "\"id\":\"alice\""));
  CHECK(s.stack.has_event("totp.verified", approval_id));

  const Json allowed = s.decide(write_call);
  CHECK(allowed["decision"]["verdict"] == "allow");
  CHECK(allowed["decision"]["approval"]["id"] == approval_id);
  CHECK(allowed["decision"]["approval"]["approvers"] == Json::array({"alice"}));
  const Bytes key = s.stack.decision_public_key();
  const decision::PacketExpectations expected{"test", allowed["decision"]["action_digest"], key, std::chrono::system_clock::now()};
  const auto verified = decision::verify_decision_packet(allowed, expected);
  INFO(allowed.dump() << " " << (verified ? std::string() : verified.error().error.message));
  CHECK(verified);
  CHECK(s.stack.has_event("approval.used", approval_id));

  // Once: the next identical call needs a new approval.
  const Json again = s.decide(write_call);
  CHECK(again["decision"]["verdict"] == "pending");
  CHECK(again["decision"]["approval"]["id"] != approval_id);
}

TEST_CASE("a rejected call stays refused and the link dies") {
  ApprovalStack s;
  const std::string approval_id = s.decide(write_call)["decision"]["approval"]["id"];
  const std::string link = s.link_for(approval_id, "bob");
  auto rejected = s.answer(link, code_now(bob_secret), "reject");
  REQUIRE(rejected);
  CHECK(rejected->body.find(">rejected<") != std::string::npos);
  CHECK(s.stack.has_event("approval.rejected", approval_id));
  CHECK(s.web().get(link)->status == 410);
  CHECK(s.decide(write_call)["decision"]["approval"]["id"] != approval_id);
}

TEST_CASE("a replayed second factor is refused by secretsd and recorded") {
  ApprovalStack s;
  const std::string code = code_now(alice_secret);
  const Json body = {{"approver", "alice"}, {"code", code}, {"context", "replay test"}};
  json_of(s.stack.secrets.post("/v1/totp/verify", body.dump()), 200);
  require_problem(s.stack.secrets.post("/v1/totp/verify", body.dump()), 403, "permission_denied");
  CHECK(s.stack.has_event("totp.refused", "used before"));
  // The code of the step before is spent with it.
  const Json earlier = {{"approver", "alice"}, {"code", code_now(alice_secret, -1)}, {"context", "replay test"}};
  require_problem(s.stack.secrets.post("/v1/totp/verify", earlier.dump()), 403, "permission_denied");
}

TEST_CASE("an agent identity can never approve, even when enrolled in the group") {
  ApprovalStack s;
  s.enroll("support-bot", "bot-secret-0123456789");
  const std::string approval_id = s.decide(write_call)["decision"]["approval"]["id"];
  auto refused = s.answer(s.link_for(approval_id, "support-bot"), code_now("bot-secret-0123456789"), "approve");
  REQUIRE(refused);
  CHECK(refused->status == 403);
  CHECK(refused->body.find("agent identity") != std::string::npos);
}

TEST_CASE("an approver who answered cannot answer again through a later link, and the refusal is recorded") {
  ApprovalStack s("nudge_after_s = 1\nsecond_nudge_after_s = 60\nclose_after_s = 120\n");
  const std::string approval_id = s.decide(push_call(std::string(40, 'c')))["decision"]["approval"]["id"];
  const std::string first = s.link_for(approval_id, "alice");
  // The nudge brings a second link for every approver who has not answered yet.
  const std::string second = s.link_for(approval_id, "alice", "approval.nudged");
  REQUIRE(first != second);
  CHECK(s.answer(first, code_now(alice_secret), "approve")->body.find(">pending<") != std::string::npos);
  auto again = s.answer(second, code_now(alice_secret, 1), "approve");
  REQUIRE(again);
  CHECK(again->status == 410);
  CHECK(again->body.find("answered this approval already") != std::string::npos);
  CHECK(s.stack.has_event("approval.answer_refused", "answered this approval already"));
}

TEST_CASE("a used link refuses a second answer, and the refusal is recorded") {
  ApprovalStack s;
  const std::string approval_id = s.decide(write_call)["decision"]["approval"]["id"];
  const std::string link = s.link_for(approval_id, "alice");
  REQUIRE(s.answer(link, code_now(alice_secret), "approve")->status == 200);
  CHECK(s.answer(link, code_now(alice_secret, 1), "reject")->status == 410);
  CHECK(s.stack.has_event("approval.answer_refused", "used already"));
}

TEST_CASE("five wrong codes close a link") {
  ApprovalStack s;
  const std::string link = s.link_for(s.decide(write_call)["decision"]["approval"]["id"], "alice");
  for (int i = 0; i < 5; ++i) CHECK(s.answer(link, "12345" + std::to_string(i), "approve")->status == 403);
  CHECK(s.answer(link, code_now(alice_secret), "approve")->status == 410);
}

TEST_CASE("unknown links and malformed forms are refused") {
  ApprovalStack s;
  CHECK(s.web().get("/a/" + std::string(43, 'A'))->status == 404);
  CHECK(s.web().get("/a/short")->status == 404);
  const std::string link = s.link_for(s.decide(write_call)["decision"]["approval"]["id"], "alice");
  ipc::ClientRequest request;
  request.method = ipc::Method::post;
  request.target = link;
  request.content_type = "application/x-www-form-urlencoded";
  request.body = "code=1&choice=approve&approver=mallory";
  CHECK(s.web().request(request)->status == 400);
  request.content_type = "application/json";
  request.body = R"({"code":"1"})";
  CHECK(s.web().request(request)->status == 400);
}

TEST_CASE("two maintainers are needed, nobody counts twice, and a newer head makes the approval stale") {
  ApprovalStack s;
  const std::string head_a(40, 'a');
  const std::string head_b(40, 'b');
  const std::string approval_id = s.decide(push_call(head_a))["decision"]["approval"]["id"];
  auto first = s.answer(s.link_for(approval_id, "alice"), code_now(alice_secret), "approve");
  REQUIRE(first);
  CHECK(first->body.find(">pending<") != std::string::npos);
  CHECK(s.decide(push_call(head_a))["decision"]["verdict"] == "pending");
  auto second = s.answer(s.link_for(approval_id, "bob"), code_now(bob_secret), "approve");
  REQUIRE(second);
  CHECK(second->body.find(">approved<") != std::string::npos);

  // The target moved to head B before the push was made again: the approval for A is stale.
  const Json on_b = s.decide(push_call(head_b));
  CHECK(on_b["decision"]["verdict"] == "pending");
  CHECK(on_b["decision"]["approval"]["id"] != approval_id);
  CHECK(s.stack.has_event("approval.stale", approval_id));
  const Json back_on_a = s.decide(push_call(head_a));
  CHECK(back_on_a["decision"]["verdict"] == "pending");
}

TEST_CASE("SLA timers nudge, nudge with the deadline, then close the approval as aged_out") {
  ApprovalStack s("nudge_after_s = 1\nsecond_nudge_after_s = 2\nclose_after_s = 3\n");
  const std::string approval_id = s.decide(write_call)["decision"]["approval"]["id"];
  const std::string link = s.link_for(approval_id, "alice");
  CHECK(s.receiver.wait_for("\"event\":\"approval.nudged\""));
  CHECK(s.receiver.wait_for("\"event\":\"approval.deadline\""));
  CHECK(s.receiver.wait_for("\"event\":\"approval.closed\""));
  CHECK(s.stack.has_event("approval.nudged", "\"nudge\":1"));
  CHECK(s.stack.has_event("approval.nudged", "\"nudge\":2"));
  CHECK(s.stack.has_event("approval.aged_out", "\"reason\":\"aged_out\""));
  CHECK(s.web().get(link)->status == 410);
  CHECK(s.decide(write_call)["decision"]["approval"]["id"] != approval_id);
}

TEST_CASE("SLA timers survive a restart: an approval left pending while approvald was down still ages out") {
  ApprovalStack s("nudge_after_s = 1\nsecond_nudge_after_s = 2\nclose_after_s = 3\n");
  const std::string approval_id = s.decide(write_call)["decision"]["approval"]["id"];
  s.stack.approvald.stop();
  std::this_thread::sleep_for(std::chrono::milliseconds(3500));
  REQUIRE(s.stack.approvald.start());
  CHECK(s.stack.has_event("approval.aged_out", approval_id));
  // The ledger takes approval.aged_out before the approval's row is closed (nothing silent), so
  // the count may lag the event by a moment.
  Json status;
  for (int i = 0; i < 200; ++i) {
    status = json_of(ipc::UnixClient(s.stack.approvald.socket_path()).get("/v1/status"), 200);
    if (status["pending_approvals"] == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(status["pending_approvals"] == 0);
}

TEST_CASE("cordonctl mode live ends the dry-run period only once an approver grants it") {
  ApprovalStack s("", 7);
  const std::string cordonctl = "CORDON_APPROVALD_SOCKET=" + s.stack.approvald.socket_path() + " " + binary_path("cordonctl");
  CHECK(s.decide(write_call)["decision"]["mode"] == "dry_run");
  const auto asked = run_command(cordonctl + " mode live");
  INFO(asked.output);
  REQUIRE(asked.status == 0);
  const auto id_at = asked.output.find("a-");
  REQUIRE(id_at != std::string::npos);
  const std::string approval_id = asked.output.substr(id_at, 34);
  // Asking is not switching.
  CHECK(run_command(cordonctl + " mode").output.find("mode dry_run") != std::string::npos);
  CHECK(s.decide(proposal("fs.read", {{"path", "a"}}))["decision"]["mode"] == "dry_run");
  auto granted = s.answer(s.link_for(approval_id, "alice"), code_now(alice_secret), "approve");
  REQUIRE(granted);
  CHECK(granted->status == 200);
  CHECK(run_command(cordonctl + " mode").output.find("mode live") != std::string::npos);
  CHECK(s.decide(proposal("fs.read", {{"path", "a"}}))["decision"]["mode"] == "live");
  CHECK(s.stack.has_event("tenant.mode_changed", "\"mode\":\"live\""));
  // Live is live: a second request is refused.
  const auto again = run_command(cordonctl + " mode live");
  CHECK(again.status != 0);
  CHECK(again.output.find("live already") != std::string::npos);
}

TEST_CASE("approve and amend: the call is approved and a rule now allows its class, recorded with the approver") {
  ApprovalStack s;
  const std::string before = json_of(s.stack.gate.get("/v1/status"), 200)["policy_version"];
  const Json held = s.decide(proposal("fs.read", {{"path", "reports/2026/q3.csv"}}));
  REQUIRE(held["decision"]["rules"] == Json::array({"constitution.no_match"}));
  const std::string approval_id = held["decision"]["approval"]["id"];
  const std::string link = s.link_for(approval_id, "alice");
  CHECK(s.web().get(link)->body.find("value=\"approve_amend\"") != std::string::npos);
  auto amended = s.answer(link, code_now(alice_secret), "approve_amend");
  REQUIRE(amended);
  INFO(amended->body);
  CHECK(amended->body.find(">approved<") != std::string::npos);
  CHECK(amended->body.find("id=\"amended\"") != std::string::npos);
  const std::string after = json_of(s.stack.gate.get("/v1/status"), 200)["policy_version"];
  CHECK(after != before);
  CHECK(s.stack.has_event("policy.amended", "\"approver\":\"alice\""));
  CHECK(s.stack.has_event("policy.reloaded", "approver:alice"));
  // The call, and another of the same class, need nobody now: the new rule allows them.
  CHECK(s.decide(proposal("fs.read", {{"path", "reports/2026/q3.csv"}}))["decision"]["verdict"] == "allow");
  const Json sibling = s.decide(proposal("fs.read", {{"path", "reports/2026/q4.csv"}}));
  CHECK(sibling["decision"]["verdict"] == "allow");
  CHECK(sibling["decision"]["rules"][0].get<std::string>().starts_with("amend-"));
  CHECK(s.decide(proposal("fs.read", {{"path", "other/x.csv"}}))["decision"]["verdict"] == "pending");
}

TEST_CASE("approve and amend is refused for a hold a rule cannot lift, and nothing changes") {
  ApprovalStack s;
  const std::string approval_id = s.decide(write_call)["decision"]["approval"]["id"]; // held by review-writes
  const std::string link = s.link_for(approval_id, "alice");
  CHECK(s.web().get(link)->body.find("approve_amend") == std::string::npos);
  auto refused = s.answer(link, code_now(alice_secret), "approve_amend");
  REQUIRE(refused);
  CHECK(refused->status == 400);
  CHECK(refused->body.find("no rule can lift this hold") != std::string::npos);
  CHECK(s.stack.has_event("approval.answer_refused", "no rule can lift"));
  CHECK(s.web().get(link)->status == 200); // the link still works for a plain answer
}

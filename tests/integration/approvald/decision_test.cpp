// approvald over its socket with a real auditd and secretsd: signed decisions, the floor, fail
// closed, refusals and their audit events.
#include <unistd.h>

#include <fstream>

#include "common/clock.h"
#include "common/crypto.h"
#include "tests/integration/approvald/helpers.h"
#include "tests/support/as_uid.h"
#include "tests/support/small_filesystem.h"

using namespace cordon;
using namespace cordon::testing;

TEST_CASE("an allowed proposal gets a packet signed by secretsd's decision key, bound to its digest") {
  RunningGate stack;
  const Json call = proposal("fs.read", {{"path", "src/main.c"}});
  const Json packet = json_of(stack.gate.post("/v1/decisions", call.dump()), 201);
  const Bytes key = stack.decision_public_key();
  const decision::PacketExpectations expected{"test", decision::action_digest("test", action_of(call)).value(), key,
                                              std::chrono::system_clock::now()};
  auto verified = decision::verify_decision_packet(packet, expected);
  INFO(packet.dump());
  REQUIRE(verified);
  CHECK(verified->verdict == "allow");
  CHECK(verified->mode == "live");
  CHECK(verified->rules == std::vector<std::string>{"read-files"});
  CHECK(verified->policy_version.starts_with("sha256:"));
  CHECK(verified->expires_at - verified->issued_at == std::chrono::seconds(120));
  CHECK(stack.has_event("decision.issued", verified->id));
  CHECK(stack.has_event("decision.issued", "Reading workspace files is safe."));
}

TEST_CASE("destructive SQL under a constitution that allows it is held, citing floor.sql_write") {
  const char* allow_all = "[[rule]]\nid='allow-all'\ndescription='Everything.'\neffect='allow'\ntools=['*']\n";
  RunningGate stack({}, allow_all);
  const Json packet = json_of(stack.gate.post("/v1/decisions", proposal("sql.query", {{"database", "main"}, {"sql", "DELETE FROM users"}}).dump()), 201);
  const Json& decision = packet["decision"];
  CHECK(decision["verdict"] == "pending");
  CHECK(decision["rules"] == Json::array({"allow-all", "floor.sql_write"}));
  const std::string approval_id = decision["approval"]["id"];
  CHECK(approval_id.starts_with("a-"));
  const Json state = json_of(stack.gate.get("/v1/decisions/" + decision["id"].get<std::string>()), 200);
  CHECK(state["state"] == "pending");
  CHECK(state["approval_id"] == approval_id);
  CHECK(state["reasons"].dump().find("DELETE") != std::string::npos);
  CHECK(stack.has_event("decision.issued", approval_id));
}

TEST_CASE("a denied proposal gets a signed deny naming the rule") {
  RunningGate stack;
  const Json packet = json_of(stack.gate.post("/v1/decisions", proposal("fs.write", {{"path", "secrets/key"}, {"content", "x"}}).dump()), 201);
  CHECK(packet["decision"]["verdict"] == "deny");
  CHECK(packet["decision"]["rules"] == Json::array({"no-secrets"}));
  CHECK(packet["decision"]["approval"].is_null());
}

TEST_CASE("secretsd grants a lease for approvald's allow packet and refuses the same packet twice") {
  RunningGate stack;
  const Json value = {{"value_base64", to_base64(as_bytes(std::string("token-1")))}, {"tools", {"http.request"}}};
  json_of(stack.secrets.request(ipc::Method::put, "/v1/secrets/api", value.dump()), 201);
  const Json call = proposal("http.request", {{"method", "GET"}, {"url", "https://api.example.com/v1/items"}, {"credential", "api"}});
  const Json packet = json_of(stack.gate.post("/v1/decisions", call.dump()), 201);
  REQUIRE(packet["decision"]["verdict"] == "allow");
  const Json lease = {{"packet", packet}, {"action", action_of(call)}, {"secret", "api"}, {"run_id", "r-1"}};
  const Json granted = json_of(stack.secrets.post("/v1/leases", lease.dump()), 201);
  CHECK(granted["value_base64"] == value["value_base64"]);
  require_problem(stack.secrets.post("/v1/leases", lease.dump()), 409, "conflict");
}

TEST_CASE("with auditd down no decision is issued and the agent is told why") {
  RunningGate stack;
  stack.auditd.stop();
  auto answer = stack.gate.post("/v1/decisions", proposal("fs.read", {{"path", "a"}}).dump());
  require_problem(answer, 503, "unavailable");
  // secretsd will not sign unrecorded either: whichever notices first, the answer names the ledger.
  CHECK(answer->body.find("audit") != std::string::npos);
}

TEST_CASE("a decision signed but not recorded is not issued") {
  // approvald records in a ledger of its own here, which then fails; secretsd's stays up.
  TempDir own{"cordon-ap2"};
  AuditdProcessOptions own_options;
  own_options.directory = own.path();
  AuditdProcess own_auditd(own_options);
  REQUIRE(own_auditd.start());
  ApprovaldProcessOptions options;
  options.audit_socket = own_auditd.socket_path();
  RunningGate stack(options);
  own_auditd.stop();
  auto answer = stack.gate.post("/v1/decisions", proposal("fs.read", {{"path", "a"}}).dump());
  require_problem(answer, 503, "unavailable");
  CHECK(answer->body.find("was not recorded, so it is not issued") != std::string::npos);
  CHECK(stack.has_event("key.signed", "decision")); // signed by secretsd, never handed out
  CHECK(json_of(stack.gate.get("/v1/status"), 200)["decisions"] == 0); // and not kept either
}

TEST_CASE("with secretsd down no decision is issued: the one recorded meanwhile is withdrawn") {
  RunningGate stack;
  stack.secretsd.stop();
  auto answer = stack.gate.post("/v1/decisions", proposal("fs.read", {{"path", "a"}}).dump());
  require_problem(answer, 503, "unavailable");
  CHECK(answer->body.find("secretsd") != std::string::npos);
  // Signing and recording run at the same time, so the decision is in the ledger; its
  // withdrawal follows it, naming the same id and why, and nothing signed it.
  const auto issued = stack.event_list("decision.issued");
  const auto withdrawn = stack.event_list("decision.withdrawn");
  REQUIRE(issued.size() == 1);
  REQUIRE(withdrawn.size() == 1);
  CHECK(withdrawn[0]["data"]["decision_id"] == issued[0]["data"]["decision_id"]);
  CHECK(withdrawn[0]["data"]["reason"].get<std::string>().find("secretsd") != std::string::npos);
  CHECK(withdrawn[0]["index"].get<std::uint64_t>() > issued[0]["index"].get<std::uint64_t>());
  CHECK(stack.events("key.signed").find("\"decision\"") == std::string::npos);
  CHECK(json_of(stack.gate.get("/v1/status"), 200)["decisions"] == 0);
}

TEST_CASE("a decision that cannot be stored is not issued: it is withdrawn, and decisions resume when space returns") {
  REQUIRE(::geteuid() == 0); // mounting a tmpfs needs root; the suite runs as root
  SmallFilesystem disk("4m");
  REQUIRE(disk.mounted);
  ApprovaldProcessOptions options;
  options.state_dir = disk.dir.path() / "approvald";
  RunningGate stack(options);
  json_of(stack.gate.post("/v1/decisions", proposal("fs.read", {{"path", "before"}}).dump()), 201);

  // Fill what is left of approvald's disk.
  const auto filler = disk.dir.path() / "filler";
  {
    std::ofstream out(filler, std::ios::binary);
    const std::string block(64 << 10, 'f');
    while (out.write(block.data(), static_cast<std::streamsize>(block.size())) && out.flush()) {
    }
  }
  auto answer = stack.gate.post("/v1/decisions", proposal("fs.read", {{"path", "during"}}).dump());
  require_problem(answer, 503, "unavailable");
  CHECK(answer->body.find("could not be stored") != std::string::npos);
  const auto issued = stack.event_list("decision.issued");
  const auto withdrawn = stack.event_list("decision.withdrawn");
  REQUIRE(issued.size() == 2);
  REQUIRE(withdrawn.size() == 1);
  CHECK(withdrawn[0]["data"]["decision_id"] == issued[1]["data"]["decision_id"]);
  CHECK(withdrawn[0]["data"]["reason"].get<std::string>().find("could not be stored") != std::string::npos);
  CHECK(json_of(stack.gate.get("/v1/status"), 200)["decisions"] == 1);
  const std::string withdrawn_id = withdrawn[0]["data"]["decision_id"];
  require_problem(stack.gate.get("/v1/decisions/" + withdrawn_id), 404, "not_found");

  std::filesystem::remove(filler);
  json_of(stack.gate.post("/v1/decisions", proposal("fs.read", {{"path", "after"}}).dump()), 201);
  CHECK(json_of(stack.gate.get("/v1/status"), 200)["decisions"] == 2);
}

TEST_CASE("every issued decision names the digest its key.signed names") {
  RunningGate stack;
  const Json packet = json_of(stack.gate.post("/v1/decisions", proposal("fs.read", {{"path", "a"}}).dump()), 201);
  const auto issued = stack.event_list("decision.issued");
  std::vector<Json> signed_events;
  for (auto& event : stack.event_list("key.signed"))
    if (event["data"]["key"] == "decision") signed_events.push_back(event);
  REQUIRE(issued.size() == 1);
  REQUIRE(signed_events.size() == 1);
  const std::string signed_bytes = decision::decision_signing_bytes(packet["decision"]).value();
  const std::string digest = to_hex(crypto::sha256(signed_bytes));
  CHECK(issued[0]["data"]["decision_sha256"] == digest);
  CHECK(signed_events[0]["data"]["message_sha256"] == digest);
  CHECK(signed_events[0]["data"]["key"] == "decision");
}

TEST_CASE("a proposal from a peer without the agentd role is refused and audited") {
  RunningGate stack;
  std::filesystem::permissions(stack.directory.path(), std::filesystem::perms(0755));
  CHECK(status_as_uid(stack.approvald.socket_path(), 65534, ipc::Method::post, "/v1/decisions",
                      proposal("fs.read", {{"path", "a"}}).dump()) == 403);
  CHECK(stack.has_event("access.denied", "/v1/decisions"));
  CHECK(stack.events("decision.issued").empty());
}

TEST_CASE("malformed, unknown-tool, stale-pin and float-carrying proposals are refused, audited and issue nothing") {
  RunningGate stack;
  struct Case {
    std::string body;
    std::string says;
  };
  Json unknown_member = proposal("fs.read", {{"path", "a"}});
  unknown_member["approve_me"] = true;
  Json unknown_tool = proposal("shell.exec", {{"cmd", "rm -rf /"}});
  Json stale_pin = proposal("fs.read", {{"path", "a"}});
  stale_pin["tool_pin"] = "sha256:" + std::string(64, 'f');
  Json with_float = proposal("fs.read", {{"path", "a"}});
  with_float["arguments"]["max_bytes"] = 1.5;
  Json high_confidence = proposal("fs.read", {{"path", "a"}}, 10001);
  const std::vector<Case> cases{
      {"{not json", "JSON"},
      {unknown_member.dump(), "approve_me"},
      {unknown_tool.dump(), "unknown tool"},
      {stale_pin.dump(), "tool_pin"},
      {with_float.dump(), "floating-point"},
      {high_confidence.dump(), "confidence_bp"},
      {"[]", "object"},
  };
  for (const auto& c : cases) {
    INFO(c.body);
    auto answer = stack.gate.post("/v1/decisions", c.body);
    REQUIRE(answer);
    CHECK(answer->status == 400);
    CHECK(answer->body.find(c.says) != std::string::npos);
  }
  CHECK(stack.has_event("proposal.refused", "unknown tool"));
  CHECK(stack.has_event("proposal.refused", "tool_pin"));
  CHECK(stack.events("decision.issued").empty());
}

TEST_CASE("an oversized proposal is refused before it is read") {
  RunningGate stack;
  const Json big = proposal("fs.write", {{"path", "a"}, {"content", std::string(300 << 10, 'x')}});
  auto answer = stack.gate.post("/v1/decisions", big.dump());
  REQUIRE(answer);
  CHECK(answer->status == 413);
  CHECK(stack.events("decision.issued").empty());
}

TEST_CASE("an unknown decision id is not found") {
  RunningGate stack;
  require_problem(stack.gate.get("/v1/decisions/d-00000000000000000000000000000000"), 404, "not_found");
}

TEST_CASE("in the dry-run period decisions say mode dry_run and secretsd gives them no lease") {
  ApprovaldProcessOptions options;
  options.dry_run_days = 7;
  RunningGate stack(options);
  const Json status = json_of(stack.gate.get("/v1/status"), 200);
  CHECK(status["mode"] == "dry_run");
  const Json call = proposal("http.request", {{"method", "GET"}, {"url", "https://api.example.com/"}});
  const Json packet = json_of(stack.gate.post("/v1/decisions", call.dump()), 201);
  CHECK(packet["decision"]["mode"] == "dry_run");
  CHECK(packet["decision"]["rules"] == Json::array({"http-get", "floor.dry_run"}));
  const Json value = {{"value_base64", to_base64(as_bytes(std::string("t")))}, {"tools", {"http.request"}}};
  json_of(stack.secrets.request(ipc::Method::put, "/v1/secrets/api", value.dump()), 201);
  const Json lease = {{"packet", packet}, {"action", action_of(call)}, {"secret", "api"}};
  require_problem(stack.secrets.post("/v1/leases", lease.dump()), 403, "permission_denied");
}

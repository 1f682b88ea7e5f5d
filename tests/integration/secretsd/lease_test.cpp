// secretsd over its socket with a real auditd: admin API, leases, signing and their refusals.
// Each refusal is checked for its answer and for its audit event.
#include <filesystem>
#include <thread>

#include "tests/integration/secretsd/helpers.h"
#include "common/sqlite/sqlite.h"
#include "tests/support/as_uid.h"

using namespace cordon;
using namespace cordon::testing;

TEST_CASE("secretsd refuses to start while auditd is down, and says why") {
  RunningSecretsd stack({}, false);
  stack.auditd.stop();
  auto started = stack.secretsd.start();
  REQUIRE_FALSE(started);
  CHECK(started.error().message.find("secretsd.started") != std::string::npos);
}

TEST_CASE("status names the KEK custody plainly and a development key file says so") {
  RunningSecretsd stack;
  auto status = json_of(stack.client.get("/v1/status"), 200);
  CHECK(status["state"] == "ready");
  CHECK(status["kek_custody"] == "key_file");
  CHECK(status["kek"].get<std::string>().find("development only") != std::string::npos);
  CHECK(wait_for_event(stack, "secretsd.started", "key_file"));
}

TEST_CASE("a stored secret is listed by metadata only and no admin route returns its value") {
  RunningSecretsd stack;
  put_secret(stack.client, "github-token", "ghp_value_never_listed");
  auto listed = stack.client.get("/v1/secrets");
  auto list = json_of(listed, 200);
  CHECK(listed->body.find("ghp_value_never_listed") == std::string::npos);
  REQUIRE(list["secrets"].size() == 1);
  CHECK(list["secrets"][0]["name"] == "test/github-token");
  CHECK(list["secrets"][0]["tools"] == Json::array({"http.request"}));
  CHECK(wait_for_event(stack, "secret.put", "test/github-token"));
  CHECK(stack.audit.get("/v1/events")->body.find("ghp_value_never_listed") == std::string::npos);
  // Rotate keeps the name and moves the version on.
  const Json rotate = {{"value_base64", to_base64(as_bytes(std::string("second")))}};
  CHECK(json_of(stack.client.post("/v1/secrets/github-token/rotate", rotate.dump()), 200)["version"] == 2);
  CHECK(wait_for_event(stack, "secret.rotated", "\"version\":2"));
}

TEST_CASE("a lease for an allowed, signed decision returns the value for at most 60 seconds") {
  RunningSecretsd stack;
  put_secret(stack.client, "api-key", "k-123");
  const auto action = http_action();
  auto granted = json_of(lease(stack.client, signed_packet(stack.client, action), action, "api-key"), 201);
  CHECK(granted["value_base64"] == to_base64(as_bytes(std::string("k-123"))));
  CHECK(granted["ttl_s"].get<int>() <= 60);
  CHECK(granted["lease_id"].get<std::string>().starts_with("l-"));
  CHECK(wait_for_event(stack, "lease.issued", granted["lease_id"].get<std::string>()));
  CHECK(stack.audit.get("/v1/events")->body.find("k-123") == std::string::npos);
  auto released = stack.client.request(ipc::Method::delete_, "/v1/leases/" + granted["lease_id"].get<std::string>());
  json_of(released, 200);
  CHECK(wait_for_event(stack, "lease.released", granted["lease_id"].get<std::string>()));
}

TEST_CASE("a lease that is not released is recorded as expired after its TTL") {
  SecretsdProcessOptions options;
  options.lease_ttl_s = 1;
  RunningSecretsd stack(options);
  put_secret(stack.client, "api-key", "k-123");
  const auto action = http_action();
  auto granted = json_of(lease(stack.client, signed_packet(stack.client, action), action, "api-key"), 201);
  CHECK(granted["ttl_s"] == 1);
  bool expired = false;
  for (int i = 0; i < 50 && !expired; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    expired = stack.events("lease.expired").find(granted["lease_id"].get<std::string>()) != std::string::npos;
  }
  CHECK(expired);
}

TEST_CASE("a replayed decision packet is refused and the refusal is audited") {
  RunningSecretsd stack;
  put_secret(stack.client, "api-key", "k-123");
  const auto action = http_action();
  const auto packet = signed_packet(stack.client, action);
  json_of(lease(stack.client, packet, action, "api-key"), 201);
  require_problem(lease(stack.client, packet, action, "api-key"), 409, "conflict");
  CHECK(wait_for_event(stack, "lease.refused", "used before"));
}

TEST_CASE("a forged packet is refused and recorded as lease.signature_rejected") {
  RunningSecretsd stack;
  put_secret(stack.client, "api-key", "k-123");
  const auto action = http_action();
  auto packet = signed_packet(stack.client, action);
  packet["decision"]["rules"] = Json::array({"forged"});
  require_problem(lease(stack.client, packet, action, "api-key"), 403, "permission_denied");
  CHECK(wait_for_event(stack, "lease.signature_rejected", "signature does not verify"));
}

TEST_CASE("an expired, other-tenant, other-digest, dry-run or held packet gets no lease") {
  RunningSecretsd stack;
  put_secret(stack.client, "api-key", "k-123");
  const auto action = http_action();

  PacketOptions expired;
  expired.issued_ago = std::chrono::seconds(300);
  require_problem(lease(stack.client, signed_packet(stack.client, action, expired), action, "api-key"), 403, "permission_denied");
  CHECK(wait_for_event(stack, "lease.refused", "expired"));

  // A decision for another tenant is refused by the signing oracle itself.
  PacketOptions other_tenant;
  other_tenant.tenant = "globex";
  require_problem(stack.client.post("/v1/sign", decision_sign_request(decision_for(action, other_tenant))), 403, "permission_denied");
  CHECK(wait_for_event(stack, "sign.refused", "another tenant"));

  const auto other_action = http_action("https://evil.example.com/");
  require_problem(lease(stack.client, signed_packet(stack.client, other_action), action, "api-key"), 403, "permission_denied");
  CHECK(wait_for_event(stack, "lease.refused", "digest mismatch"));

  PacketOptions dry;
  dry.mode = "dry_run";
  require_problem(lease(stack.client, signed_packet(stack.client, action, dry), action, "api-key"), 403, "permission_denied");
  CHECK(wait_for_event(stack, "lease.refused", "dry-run"));

  PacketOptions held;
  held.verdict = "pending";
  require_problem(lease(stack.client, signed_packet(stack.client, action, held), action, "api-key"), 403, "permission_denied");
  CHECK(wait_for_event(stack, "lease.refused", "pending, not allow"));
}

TEST_CASE("a secret outside the decided tool's scope gets no lease") {
  RunningSecretsd stack;
  put_secret(stack.client, "db-password", "pw", {"sql.query"});
  const auto action = http_action();
  require_problem(lease(stack.client, signed_packet(stack.client, action), action, "db-password"), 403, "permission_denied");
  CHECK(wait_for_event(stack, "lease.refused", "not in the scope of tool http.request"));
}

TEST_CASE("a wrong peer uid is refused with 403 and recorded as access.denied") {
  RunningSecretsd stack;
  std::filesystem::permissions(stack.directory.path(), std::filesystem::perms(0755));
  put_secret(stack.client, "api-key", "k-123");
  // 65533 holds only agentd: no admin routes, no signing. 65534 holds no role at all.
  CHECK(status_as_uid(stack.secretsd.socket_path(), 65533, ipc::Method::get, "/v1/secrets", "") == 403);
  CHECK(status_as_uid(stack.secretsd.socket_path(), 65533, ipc::Method::post, "/v1/sign", R"({"key":"decision","message_base64":"e30="})") == 403);
  CHECK(status_as_uid(stack.secretsd.socket_path(), 65534, ipc::Method::post, "/v1/leases", "{}") == 403);
  CHECK(wait_for_event(stack, "access.denied", R"("principal":"agent")"));
  CHECK(wait_for_event(stack, "access.denied", R"("principal":"stranger")"));
}

TEST_CASE("the decision key signs only canonical decisions") {
  RunningSecretsd stack;
  const Json not_a_decision = {{"key", "decision"}, {"message_base64", to_base64(as_bytes(std::string("{\"a\":1}")))}};
  require_problem(stack.client.post("/v1/sign", not_a_decision.dump()), 400, "invalid_argument");
  CHECK(wait_for_event(stack, "sign.refused", "decision"));
  const Json unknown_key = {{"key", "nope"}, {"message_base64", "e30="}};
  require_problem(stack.client.post("/v1/sign", unknown_key.dump()), 404, "not_found");
}

TEST_CASE("malformed and oversized request bodies are refused, recorded, and change nothing") {
  RunningSecretsd stack;
  require_problem(stack.client.request(ipc::Method::put, "/v1/secrets/a", "{", "application/json"), 400, "invalid_argument");
  CHECK(wait_for_event(stack, "request.refused", R"("method":"PUT","path":"/v1/secrets/a")"));
  CHECK(wait_for_event(stack, "request.refused", "malformed JSON"));
  require_problem(stack.client.request(ipc::Method::put, "/v1/secrets/a", R"({"value_base64":"!!","tools":["x"]})", "application/json"), 400, "invalid_argument");
  CHECK(wait_for_event(stack, "request.refused", "value_base64"));
  require_problem(stack.client.request(ipc::Method::put, "/v1/secrets/Bad%20Name", R"({"value_base64":"YQ==","tools":["x"]})", "application/json"), 400, "invalid_argument");
  CHECK(wait_for_event(stack, "request.refused", "/v1/secrets/Bad Name"));
  require_problem(stack.client.post("/v1/leases", R"({"packet":{},"action":{},"secret":"a","extra":1})"), 400, "unknown_field");
  CHECK(wait_for_event(stack, "lease.refused", "extra"));
  require_problem(stack.client.post("/v1/leases", "[1,2]"), 400, "invalid_argument");
  CHECK(wait_for_event(stack, "request.refused", R"("path":"/v1/leases")"));
  require_problem(stack.client.post("/v1/sign", R"({"key":7,"message_base64":"e30="})"), 400, "invalid_argument");
  CHECK(wait_for_event(stack, "sign.refused", "key must be a key name"));
  const std::string huge = R"({"value_base64":")" + std::string(300 * 1024, 'A') + R"(","tools":["x"]})";
  require_problem(stack.client.request(ipc::Method::put, "/v1/secrets/a", huge, "application/json"), 413, "too_large");
  CHECK(wait_for_event(stack, "request.refused", R"("status":413)"));
  CHECK(json_of(stack.client.get("/v1/secrets"), 200)["secrets"].empty());
}

TEST_CASE("after a restart secrets and the decision key are the same") {
  RunningSecretsd stack;
  put_secret(stack.client, "api-key", "k-123");
  const auto key_before = json_of(stack.client.get("/v1/keys"), 200);
  stack.secretsd.stop();
  REQUIRE(stack.secretsd.start());
  stack.client.close();
  CHECK(json_of(stack.client.get("/v1/keys"), 200) == key_before);
  const auto action = http_action();
  auto granted = json_of(lease(stack.client, signed_packet(stack.client, action), action, "api-key"), 201);
  CHECK(granted["value_base64"] == to_base64(as_bytes(std::string("k-123"))));
}

TEST_CASE("when auditd goes down, leases and changes are refused: fail closed") {
  RunningSecretsd stack;
  put_secret(stack.client, "api-key", "k-123");
  const auto action = http_action();
  const auto packet = signed_packet(stack.client, action);
  stack.auditd.stop();
  require_problem(lease(stack.client, packet, action, "api-key"), 503, "unavailable");
  const Json body = {{"value_base64", "YQ=="}, {"tools", {"http.request"}}};
  require_problem(stack.client.request(ipc::Method::put, "/v1/secrets/other", body.dump(), "application/json"), 503, "unavailable");
  REQUIRE(stack.auditd.start());
  auto list = json_of(stack.client.get("/v1/secrets"), 200);
  CHECK(list["secrets"].size() == 1);
}

TEST_CASE("with auditd down the decision key signs nothing: a signature is answered only once its key.signed is") {
  RunningSecretsd stack;
  const auto action = http_action();
  stack.auditd.stop();
  const Json decision = decision_for(action);
  const std::string request = decision_sign_request(decision);
  auto refused = stack.client.post("/v1/sign", request);
  require_problem(refused, 503, "unavailable");
  CHECK(refused->body.find("signature\"") == std::string::npos);
  REQUIRE(stack.auditd.start());
  auto signed_ = json_of(stack.client.post("/v1/sign", request), 200);
  CHECK(signed_["signature"].is_string());
  const auto message = decision::decision_signing_bytes(decision).value();
  CHECK(wait_for_event(stack, "key.signed", to_hex(crypto::sha256(message))));
}

namespace {
Json sign_action(const std::string& key, const std::string& message) {
  return {{"tool", "crypto.sign"}, {"tool_pin", "sha256:02"},
          {"arguments", {{"key", key}, {"message_sha256", to_hex(crypto::sha256(message))}}}, {"target", nullptr}};
}
Result<ipc::Response> customer_sign(ipc::UnixClient& client, const std::string& key, const std::string& message,
                                    const Json& packet, const Json& action) {
  const Json body = {{"key", key}, {"message_base64", to_base64(as_bytes(message))}, {"packet", packet}, {"action", action}};
  return client.post("/v1/sign", body.dump());
}
} // namespace

TEST_CASE("a customer key signs exactly the message a decision allowed, once") {
  RunningSecretsd stack;
  auto created = json_of(stack.client.post("/v1/keys", R"({"name":"release-signing","purpose":"customer"})"), 201);
  const auto public_key = from_base64(created["public_key"].get<std::string>()).value();
  const std::string message = "v1.2.3 release manifest";
  const auto action = sign_action("release-signing", message);
  const auto packet = signed_packet(stack.client, action);

  auto signed_ = json_of(customer_sign(stack.client, "release-signing", message, packet, action), 200);
  const auto signature = from_base64(signed_["signature"].get<std::string>()).value();
  CHECK(crypto::ed25519_verify(public_key, as_bytes(message), signature));
  CHECK(wait_for_event(stack, "key.signed", "release-signing"));

  // The same packet again, another message under the same decision, and no decision at all.
  require_problem(customer_sign(stack.client, "release-signing", message, packet, action), 409, "conflict");
  const auto fresh = signed_packet(stack.client, action);
  require_problem(customer_sign(stack.client, "release-signing", "another message", fresh, action), 403, "permission_denied");
  const Json bare = {{"key", "release-signing"}, {"message_base64", to_base64(as_bytes(message))}};
  require_problem(stack.client.post("/v1/sign", bare.dump()), 403, "permission_denied");
  CHECK(wait_for_event(stack, "sign.refused", "not crypto.sign of this message"));
  // Reserved names are not customer keys.
  require_problem(stack.client.post("/v1/keys", R"({"name":"decision","purpose":"customer"})"), 409, "conflict");
}

TEST_CASE("a customer key the ledger did not record is not kept, also after a restart") {
  RunningSecretsd stack;
  stack.auditd.stop();
  require_problem(stack.client.post("/v1/keys", R"({"name":"release-signing","purpose":"customer"})"), 503, "unavailable");
  const auto listed = [&] {
    const Json keys = json_of(stack.client.get("/v1/keys"), 200);
    for (const auto& key : keys["keys"])
      if (key["name"] == "release-signing") return true;
    return false;
  };
  CHECK(!listed());
  REQUIRE(stack.auditd.start());
  stack.secretsd.stop();
  REQUIRE(stack.secretsd.start());
  CHECK(!listed());
  // Created again once the ledger takes it: then it is there, and recorded.
  json_of(stack.client.post("/v1/keys", R"({"name":"release-signing","purpose":"customer"})"), 201);
  CHECK(listed());
  CHECK(wait_for_event(stack, "key.generated", "release-signing"));
}

TEST_CASE("a corrupted ciphertext in the vault is refused as a lease, recorded, and never returned") {
  RunningSecretsd stack;
  put_secret(stack.client, "api-key", "k-123");
  stack.secretsd.stop();
  {
    auto db = cordon::Sqlite::open(stack.secretsd.state_dir() / "vault.db").value();
    REQUIRE(db->execute("UPDATE secrets SET ciphertext = CAST(zeroblob(40) AS BLOB) || substr(ciphertext, 41)"));
  }
  REQUIRE(stack.secretsd.start());
  stack.client.close();
  const auto action = http_action();
  auto refused = lease(stack.client, signed_packet(stack.client, action), action, "api-key");
  require_problem(refused, 500, "integrity");
  CHECK(refused->body.find("k-123") == std::string::npos);
  CHECK(wait_for_event(stack, "lease.refused", "does not decrypt"));
}

// auditd's checkpoints signed through secretsd's oracle: the key moves out of auditd's state
// without changing the verifier key auditors pinned, and the private key never returns.
#include <filesystem>
#include <thread>

#include "auditd/ledger/checkpoint.h"
#include "auditd/ledger/signed_note.h"
#include "tests/integration/secretsd/helpers.h"
#include "tests/support/as_uid.h"

using namespace cordon;
using namespace cordon::testing;

namespace {

struct Stack {
  TempDir directory{"cordon-ck"};
  AuditdProcessOptions audit_options() const {
    AuditdProcessOptions options;
    options.directory = directory.path();
    options.checkpoint_key = "secretsd";
    options.secretsd_socket = (directory.path() / "secretsd.sock").string();
    return options;
  }
  SecretsdProcessOptions secrets_options() const {
    SecretsdProcessOptions options;
    options.directory = directory.path();
    options.audit_socket = (directory.path() / "auditd.sock").string();
    return options;
  }
};

// Waits up to 5 s for auditd's verifier key; "" if it never answers 200.
std::string await_verifier_key(ipc::UnixClient& audit) {
  for (int i = 0; i < 250; ++i) {
    auto response = audit.get("/v1/verifier-key");
    if (response && response->status == 200) return response->body.substr(0, response->body.find('\n'));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return {};
}

// auditd signing through secretsd, both started, with the checkpoint key resolved.
struct BothRunning {
  explicit BothRunning(const Stack& stack) : auditd(stack.audit_options()), secretsd(stack.secrets_options()) {
    REQUIRE(auditd.start());
    REQUIRE(secretsd.start());
    verifier_key = await_verifier_key(audit);
    REQUIRE(!verifier_key.empty());
  }
  AuditdProcess auditd;
  SecretsdProcess secretsd;
  ipc::UnixClient audit{auditd.socket_path()};
  std::string verifier_key;
};

} // namespace

TEST_CASE("moving the checkpoint key into secretsd keeps the verifier key auditors pinned") {
  Stack stack;
  // First auditd signs with its own key file, and an auditor pins that key.
  AuditdProcessOptions file_options = stack.audit_options();
  file_options.checkpoint_key = "file";
  std::string pinned;
  {
    AuditdProcess auditd(file_options);
    REQUIRE(auditd.start());
    ipc::UnixClient audit(auditd.socket_path());
    pinned = await_verifier_key(audit);
    REQUIRE(!pinned.empty());
  }
  REQUIRE(std::filesystem::exists(stack.directory / "state" / "checkpoint.key"));

  AuditdProcess auditd(stack.audit_options());
  REQUIRE(auditd.start());
  SecretsdProcess secretsd(stack.secrets_options());
  REQUIRE(secretsd.start());
  ipc::UnixClient audit(auditd.socket_path());
  CHECK(await_verifier_key(audit) == pinned);

  auto note = audit.get("/v1/checkpoint");
  REQUIRE(note);
  REQUIRE(note->status == 200);
  auto key = ledger::NoteVerifierKey::parse(pinned).value();
  auto checkpoint = ledger::open_checkpoint(note->body, key, key.name);
  INFO((checkpoint ? std::string() : checkpoint.error().message));
  CHECK(checkpoint);
  // The key file is gone from auditd's state; secretsd lists the key, with the same verifier key.
  CHECK_FALSE(std::filesystem::exists(stack.directory / "state" / "checkpoint.key"));
  ipc::UnixClient secrets(secretsd.socket_path());
  auto keys = json_of(secrets.get("/v1/keys"), 200);
  bool listed = false;
  for (const auto& entry : keys["keys"]) listed = listed || (entry["name"] == "checkpoint" && entry["verifier_key"] == pinned);
  CHECK(listed);
  CHECK(audit.get("/v1/events?kind=key.imported")->body.find(pinned) != std::string::npos);
  CHECK(audit.get("/v1/events?kind=checkpoint.key_ready")->body.find(pinned) != std::string::npos);
}

TEST_CASE("auditd takes appends while secretsd is down and signs checkpoints once it is up") {
  Stack stack;
  AuditdProcess auditd(stack.audit_options());
  REQUIRE(auditd.start());
  ipc::UnixClient audit(auditd.socket_path());
  auto appended = audit.post("/v1/events", R"({"kind":"test.event","actor":{"type":"system","id":"t"}})");
  REQUIRE(appended);
  CHECK(appended->status == 201);
  require_problem(audit.get("/v1/checkpoint"), 503, "unavailable");
  require_problem(audit.get("/v1/verifier-key"), 503, "unavailable");

  SecretsdProcess secretsd(stack.secrets_options());
  REQUIRE(secretsd.start());
  const auto verifier = await_verifier_key(audit);
  REQUIRE(!verifier.empty());
  auto note = audit.get("/v1/checkpoint");
  REQUIRE(note);
  REQUIRE(note->status == 200);
  auto key = ledger::NoteVerifierKey::parse(verifier).value();
  CHECK(ledger::open_checkpoint(note->body, key, key.name));
  CHECK(audit.get("/v1/events?kind=key.generated")->body.find(verifier) != std::string::npos);
}

TEST_CASE("the checkpoint key signs only checkpoints of its origin, and only for auditd") {
  Stack stack;
  BothRunning running(stack);
  auto& audit = running.audit;
  ipc::UnixClient secrets(running.secretsd.socket_path());

  const auto sign = [&](const std::string& message) {
    const Json body = {{"key", "checkpoint"}, {"message_base64", to_base64(as_bytes(message))}};
    return secrets.post("/v1/sign", body.dump());
  };
  require_problem(sign("not a checkpoint\n"), 400, "invalid_argument");
  const auto other_origin = ledger::format_checkpoint({"elsewhere.example/log", 1, ledger::Hash{}}).value();
  require_problem(sign(other_origin), 403, "permission_denied");
  CHECK(wait_for_event_in(audit, "sign.refused", "another origin"));

  std::filesystem::permissions(stack.directory.path(), std::filesystem::perms(0755));
  const auto own_origin = ledger::format_checkpoint({"test.cordon.local/audit", 1, ledger::Hash{}}).value();
  const Json body = {{"key", "checkpoint"}, {"message_base64", to_base64(as_bytes(own_origin))}};
  CHECK(status_as_uid(running.secretsd.socket_path(), 65533, ipc::Method::post, "/v1/sign", body.dump()) == 403);
  // Creating the checkpoint key again is refused: there is exactly one.
  require_problem(secrets.post("/v1/keys/checkpoint", "{}"), 409, "conflict");
}

TEST_CASE("a checkpoint key the ledger did not record is not kept, and is made once the ledger takes it") {
  RunningSecretsd stack; // auditd here signs with its own key file: only this test asks for the key
  const auto holds_checkpoint_key = [&] {
    const Json keys = json_of(stack.client.get("/v1/keys"), 200);
    for (const auto& key : keys["keys"])
      if (key["name"] == "checkpoint") return true;
    return false;
  };
  stack.auditd.stop();
  require_problem(stack.client.post("/v1/keys/checkpoint", "{}"), 503, "unavailable");
  CHECK(!holds_checkpoint_key());
  REQUIRE(stack.auditd.start());
  const Json created = json_of(stack.client.post("/v1/keys/checkpoint", "{}"), 201);
  CHECK(holds_checkpoint_key());
  CHECK(wait_for_event(stack, "key.generated", created["verifier_key"].get<std::string>()));
}

TEST_CASE("auditd refuses to sign when its old key file and secretsd's key differ") {
  Stack stack;
  { BothRunning first(stack); }
  // A different key file appears in auditd's state (a restored backup, say).
  AuditdProcessOptions file_options = stack.audit_options();
  file_options.checkpoint_key = "file";
  file_options.state_dir = stack.directory / "other-state";
  {
    AuditdProcess other(file_options);
    REQUIRE(other.start());
  }
  std::filesystem::copy_file(stack.directory / "other-state" / "checkpoint.key", stack.directory / "state" / "checkpoint.key");

  AuditdProcess auditd(stack.audit_options());
  REQUIRE(auditd.start());
  SecretsdProcess secretsd(stack.secrets_options());
  REQUIRE(secretsd.start());
  ipc::UnixClient audit(auditd.socket_path());
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  require_problem(audit.get("/v1/checkpoint"), 503, "unavailable");
  CHECK(auditd.log_tail().find("another checkpoint key") != std::string::npos);
  CHECK(std::filesystem::exists(stack.directory / "state" / "checkpoint.key"));
}

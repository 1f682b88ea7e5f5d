// The auditor HTTPS listener end to end, with curl as an independent client: both credentials
// read everything the socket serves, byte for byte; refusals are answered (or the handshake
// fails) and audited; nothing can be appended over HTTPS; TLS 1.2 is refused. Then
// `cordon-audit pull` and `verify` against it: resuming, repairing a torn copy, a wrong key, and
// a server that rewrote its history between two pulls.
#include <fstream>
#include <thread>

#include "common/files.h"
#include "tests/integration/auditd/helpers.h"

using namespace cordon;
using namespace cordon::testing;

namespace {

AuditdProcessOptions with_https() {
  AuditdProcessOptions options;
  options.auditor_https = true;
  return options;
}

// An auditd serving the auditor API over HTTPS with devstack's throwaway PKI.
struct HttpsAuditd : RunningAuditd {
  HttpsAuditd() : RunningAuditd(with_https()) {}

  std::string tls(const std::string& name) const { return (process.tls_dir() / name).string(); }
  std::string url() const { return "https://" + process.https_address(); }
  std::string token() const { return read_file(process.tls_dir() / "auditor.token").value(); }
  std::string certificate_credentials() const { return "--cert " + tls("auditor.crt") + " --key " + tls("auditor.key"); }
  std::string token_credentials() const { return "-H 'Authorization: Bearer " + token() + "'"; }
};

struct CurlResult {
  int exit_status = -1; // curl's own: 0, or e.g. 35/56 for a failed TLS connection
  int http_status = 0;  // 0 when no response arrived
  std::string body;
  std::string error;
};

// Runs curl against the auditor listener, pinning devstack's CA; `arguments` add credentials,
// a method or a TLS version. The body and curl's messages are kept apart.
CurlResult curl(const HttpsAuditd& auditd, const std::string& arguments, const std::string& target) {
  const auto body = auditd.directory / "curl.body";
  const auto code = auditd.directory / "curl.code";
  const auto error = auditd.directory / "curl.err";
  std::filesystem::remove(body);
  auto run = run_command("{ curl -sS --max-time 10 --cacert " + auditd.tls("ca.crt") + " " + arguments + " -o " +
                         body.string() + " -w '%{http_code}' '" + auditd.url() + target + "' >" + code.string() +
                         " 2>" + error.string() + "; }");
  CurlResult result;
  result.exit_status = run.status;
  result.http_status = std::stoi(read_file(code).value_or("0"));
  result.body = read_file(body).value_or("");
  result.error = read_file(error).value_or("");
  return result;
}

void post_events(RunningAuditd& auditd, int count, int first = 0) {
  std::string batch = "[";
  for (int i = 0; i < count; ++i) batch += (i ? "," : "") + event_body("tool.executed", first + i);
  batch += "]";
  auto response = auditd.client.post("/v1/events", batch);
  REQUIRE(response);
  REQUIRE(response->status == 201);
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

// Waits until the socket serves `count` access.denied events (a refusal is answered at once and
// recorded by the group commit right after) and returns them.
std::vector<Json> denials(RunningAuditd& auditd, std::size_t count) {
  std::vector<std::string> lines;
  for (int i = 0; i < 300; ++i) {
    lines = lines_of(auditd.client.get("/v1/events?kind=access.denied")->body);
    if (lines.size() >= count) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::vector<Json> events;
  for (const auto& line : lines) events.push_back(parse_json(line).value());
  return events;
}

std::string audit_command(const std::string& arguments) { return binary_path("cordon-audit") + " " + arguments; }

std::string pull_command(const HttpsAuditd& auditd, const std::filesystem::path& dir) {
  return audit_command("pull --url " + auditd.url() + " --ca " + auditd.tls("ca.crt") + " --token-file " +
                       auditd.tls("auditor.token") + " --dir " + dir.string());
}

std::string verifier_key(RunningAuditd& auditd) {
  auto key = auditd.client.get("/v1/verifier-key")->body;
  REQUIRE(key.size() > 1);
  key.pop_back();
  return key;
}

std::string verify_command(const std::filesystem::path& dir, const std::string& key) {
  return audit_command("verify --dir " + dir.string() + " --key '" + key + "'");
}

} // namespace

TEST_CASE("an auditor with a client certificate or the bearer token reads over HTTPS exactly what the socket serves") {
  HttpsAuditd auditd;
  post_events(auditd, 300); // a full level-0 tile and a partial one
  REQUIRE(tree_size(auditd.client) == 301);
  const std::vector<std::string> targets = {
      "/v1/checkpoint",
      "/v1/events",
      "/v1/events?from=5&to=9",
      "/v1/events?kind=auditd.started",
      "/v1/proof/inclusion?index=7&size=301",
      "/v1/proof/consistency?old=10&new=301",
      "/v1/verifier-key",
      "/tile/0/000",
      "/tile/0/001.p/45",
      "/tile/1/000.p/1",
      "/tile/entries/000",
      "/tile/entries/001.p/45",
  };
  for (const auto& credentials : {auditd.certificate_credentials(), auditd.token_credentials()}) {
    for (const auto& target : targets) {
      INFO(credentials << " GET " << target);
      auto local = auditd.client.get(target);
      REQUIRE(local);
      REQUIRE(local->status == 200);
      auto remote = curl(auditd, credentials, target);
      INFO(remote.error);
      CHECK(remote.exit_status == 0);
      CHECK(remote.http_status == 200);
      CHECK(remote.body.size() == local->body.size());
      CHECK(remote.body == local->body);
    }
  }
  // Reading is not a change: nothing was appended, not even a refusal.
  CHECK(tree_size(auditd.client) == 301);
}

TEST_CASE("no credentials, a wrong token and a certificate from another CA are refused over HTTPS and each refusal is audited") {
  HttpsAuditd auditd;
  // Another CA issuing a client certificate with the same common name as the real one.
  TempDir other("cordon-ca");
  REQUIRE(run_command(source_path("tools/devstack-tls") + " " + other.path().string()).status == 0);
  const std::string wrong_token = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

  auto anonymous = curl(auditd, "", "/v1/events");
  CHECK(anonymous.exit_status == 0);
  CHECK(anonymous.http_status == 401);
  CHECK(anonymous.body.find("unauthenticated") != std::string::npos);

  auto wrong = curl(auditd, "-H 'Authorization: Bearer " + wrong_token + "'", "/v1/checkpoint");
  CHECK(wrong.exit_status == 0);
  CHECK(wrong.http_status == 401);

  auto stranger = curl(auditd, "--cert " + (other / "auditor.crt").string() + " --key " + (other / "auditor.key").string(),
                       "/v1/events");
  INFO(stranger.error);
  CHECK(stranger.exit_status != 0); // the handshake fails: no HTTP answer at all
  CHECK(stranger.http_status == 0);
  CHECK(stranger.body.empty());

  auto events = denials(auditd, 3);
  REQUIRE(events.size() == 3);
  for (const auto& event : events) {
    INFO(event.dump());
    CHECK(event["source"] == "auditd");
    CHECK(event["data"]["transport"] == "tls");
    CHECK(event["data"]["principal"] == "anonymous");
    CHECK(event["data"]["remote_address"].get<std::string>().rfind("127.0.0.1:", 0) == 0);
  }
  CHECK(events[0]["data"]["path"] == "/v1/events");
  CHECK(events[0]["data"]["reason"] == "a client certificate or a bearer token is required");
  CHECK(events[1]["data"]["path"] == "/v1/checkpoint");
  CHECK(events[1]["data"]["reason"] == "bearer token not accepted");
  // The handshake failed before any request: the record names the certificate instead.
  CHECK(events[2]["data"]["reason"].get<std::string>().rfind("client certificate rejected: ", 0) == 0);
  CHECK(events[2]["data"]["tls_subject"] == "CN=auditor-dev");
  CHECK_FALSE(events[2]["data"].contains("path"));
  // The refused token itself never reaches the ledger.
  CHECK(auditd.client.get("/v1/events")->body.find(wrong_token) == std::string::npos);
}

TEST_CASE("writing over HTTPS is impossible: POST /v1/events is 405 and the tree does not grow") {
  HttpsAuditd auditd;
  const auto before = tree_size(auditd.client);
  const std::string body = "--data-binary '" + event_body("tool.executed", 1) + "' -H 'Content-Type: application/json'";
  for (const auto& credentials : {auditd.certificate_credentials(), auditd.token_credentials()}) {
    INFO(credentials);
    auto post = curl(auditd, credentials + " " + body, "/v1/events");
    CHECK(post.http_status == 405);
    CHECK(post.body.find("method_not_allowed") != std::string::npos);
    CHECK(curl(auditd, credentials + " -X PUT " + body, "/v1/events").http_status == 405);
    // Routes only the local socket has are not there at all.
    CHECK(curl(auditd, credentials, "/v1/status").http_status == 404);
    CHECK(curl(auditd, credentials + " " + body, "/v1/status").http_status == 404);
  }
  CHECK(tree_size(auditd.client) == before);
  CHECK(auditd.client.get("/v1/events?kind=tool.executed")->body.empty());
}

TEST_CASE("a client limited to TLS 1.2 cannot connect to the auditor listener") {
  HttpsAuditd auditd;
  auto old = curl(auditd, auditd.token_credentials() + " --tls-max 1.2", "/v1/checkpoint");
  INFO(old.error);
  CHECK(old.exit_status != 0);
  CHECK(old.http_status == 0);
  auto current = curl(auditd, auditd.token_credentials() + " --tlsv1.3", "/v1/checkpoint");
  CHECK(current.exit_status == 0);
  CHECK(current.http_status == 200);
}

TEST_CASE("a second pull fetches only the entries appended since the first") {
  HttpsAuditd auditd;
  TempDir copy("cordon-pull");
  post_events(auditd, 20);
  auto first = run_command(pull_command(auditd, copy.path()));
  INFO(first.output);
  REQUIRE(first.status == 0);
  CHECK(first.output.find("pulled 21 new entries") != std::string::npos);
  CHECK(first.output.find("(21 in all); checkpoint size 21") != std::string::npos);

  post_events(auditd, 5, 100);
  auto second = run_command(pull_command(auditd, copy.path()));
  INFO(second.output);
  REQUIRE(second.status == 0);
  CHECK(second.output.find("pulled 5 new entries") != std::string::npos);
  CHECK(second.output.find("(26 in all); checkpoint size 26") != std::string::npos);
  CHECK(read_file(copy / "events.jsonl").value() == auditd.client.get("/v1/events")->body);
  CHECK(std::filesystem::exists(copy / "checkpoints" / "21.note"));
  CHECK(read_file(copy / "checkpoints" / "26.note").value() == auditd.client.get("/v1/checkpoint")->body);

  // Nothing new: nothing fetched, and the copy is unchanged.
  auto third = run_command(pull_command(auditd, copy.path()));
  CHECK(third.status == 0);
  CHECK(third.output.find("pulled 0 new entries") != std::string::npos);
  CHECK(read_file(copy / "events.jsonl").value() == auditd.client.get("/v1/events")->body);
}

TEST_CASE("pull fetches a ledger of large events, more than one response can hold") {
  HttpsAuditd auditd;
  TempDir copy("cordon-pull");
  // 1,320 events of about 60 KB: 79 MB, over the client's 64 MiB response limit in one page.
  const std::string blob(60'000, 'x');
  for (int batch = 0; batch < 6; ++batch) {
    std::string body = "[";
    for (int i = 0; i < 220; ++i)
      body += std::string(i ? "," : "") + R"({"kind":"blob.stored","actor":{"type":"agent","id":"bot"},"data":{"blob":")" +
              blob + R"(","i":)" + std::to_string(i) + "}}";
    REQUIRE(auditd.client.post("/v1/events", body + "]")->status == 201);
  }
  auto pulled = run_command(pull_command(auditd, copy.path()));
  INFO(pulled.output);
  REQUIRE(pulled.status == 0);
  CHECK(pulled.output.find("pulled 1321 new entries") != std::string::npos);
  CHECK(run_command(verify_command(copy.path(), verifier_key(auditd))).status == 0);
}

TEST_CASE("pull works with a client certificate as well as with the token") {
  HttpsAuditd auditd;
  TempDir copy("cordon-pull");
  auto pulled = run_command(audit_command("pull --url " + auditd.url() + " --ca " + auditd.tls("ca.crt") + " --cert " +
                                          auditd.tls("auditor.crt") + " --key " + auditd.tls("auditor.key") +
                                          " --dir " + copy.path().string()));
  INFO(pulled.output);
  CHECK(pulled.status == 0);
  CHECK(read_file(copy / "events.jsonl").value() == auditd.client.get("/v1/events")->body);
  // Without credentials the server refuses, and pull says so.
  TempDir refused("cordon-pull");
  auto anonymous = run_command(audit_command("pull --url " + auditd.url() + " --ca " + auditd.tls("ca.crt") +
                                             " --dir " + refused.path().string()));
  CHECK(anonymous.status == 2);
  CHECK(anonymous.output.find("HTTP 401") != std::string::npos);
}

TEST_CASE("a local copy whose last line was torn is repaired by the next pull") {
  HttpsAuditd auditd;
  TempDir copy("cordon-pull");
  post_events(auditd, 30);
  REQUIRE(run_command(pull_command(auditd, copy.path())).status == 0);
  // An interrupted write: the last line cut in the middle, without its newline.
  auto text = read_file(copy / "events.jsonl").value();
  const auto last_start = text.rfind('\n', text.size() - 2) + 1;
  const auto cut = last_start + (text.size() - last_start) / 2;
  REQUIRE(write_file_atomically(copy / "events.jsonl", text.substr(0, cut)).has_value());
  REQUIRE(run_command(verify_command(copy.path(), verifier_key(auditd))).status == 1);

  post_events(auditd, 3, 200);
  auto repaired = run_command(pull_command(auditd, copy.path()));
  INFO(repaired.output);
  REQUIRE(repaired.status == 0);
  CHECK(repaired.output.find("pulled 4 new entries") != std::string::npos); // the torn one again, and 3 new
  CHECK(repaired.output.find("(34 in all)") != std::string::npos);
  CHECK(read_file(copy / "events.jsonl").value() == auditd.client.get("/v1/events")->body);
  auto verified = run_command(verify_command(copy.path(), verifier_key(auditd)));
  INFO(verified.output);
  CHECK(verified.status == 0);
  CHECK(verified.output.find("verified 34 entries") != std::string::npos);
}

TEST_CASE("verify passes a pulled copy with the pinned key and fails it with another key") {
  HttpsAuditd auditd;
  TempDir copy("cordon-pull");
  post_events(auditd, 40);
  REQUIRE(run_command(pull_command(auditd, copy.path())).status == 0);

  const auto key_file = copy.path().parent_path() / (copy.path().filename().string() + ".vkey");
  REQUIRE(write_file_atomically(key_file, verifier_key(auditd) + "\n").has_value());
  auto good = run_command(audit_command("verify --dir " + copy.path().string() + " --key-file " + key_file.string()));
  std::filesystem::remove(key_file);
  INFO(good.output);
  CHECK(good.status == 0);
  CHECK(good.output.find("verified 41 entries") != std::string::npos);
  CHECK(good.output.find("up to size 41 by test.cordon.local/audit") != std::string::npos);
  CHECK(read_file(copy / "verified.note").value() == read_file(copy / "checkpoints" / "41.note").value());

  // Another auditd of the same tenant: the same key name, another key.
  RunningAuditd other;
  const auto other_key = verifier_key(other);
  REQUIRE(other_key != verifier_key(auditd));
  REQUIRE(other_key.substr(0, other_key.find('+')) == "test.cordon.local/audit");
  auto bad = run_command(verify_command(copy.path(), other_key));
  INFO(bad.output);
  CHECK(bad.status == 1);
  CHECK(bad.output.find("verified") == std::string::npos);
}

TEST_CASE("verify detects a server that rewrote its history between two pulls, with its own key") {
  HttpsAuditd auditd;
  TempDir first("cordon-pull");
  post_events(auditd, 10);
  REQUIRE(run_command(pull_command(auditd, first.path())).status == 0);
  const auto key = verifier_key(auditd);
  REQUIRE(run_command(verify_command(first.path(), key)).status == 0);
  REQUIRE(std::filesystem::exists(first / "verified.note"));

  // The operator replaces the ledger but keeps the signing key, and lets the new log grow past
  // the old one: every checkpoint it now serves is validly signed.
  auditd.process.stop(SIGTERM);
  std::filesystem::remove_all(auditd.process.ledger_dir());
  std::filesystem::remove(auditd.process.state_dir() / "checkpoint");
  REQUIRE(auditd.process.start().has_value());
  ipc::UnixClient client(auditd.process.socket_path());
  REQUIRE(client.post("/v1/events", event_body("tool.executed", 999))->status == 201);
  std::string batch = "[";
  for (int i = 0; i < 20; ++i) batch += (i ? "," : "") + event_body("tool.rewritten", i);
  REQUIRE(client.post("/v1/events", batch + "]")->status == 201);
  REQUIRE(tree_size(client) == 22);
  auto rewritten_key = client.get("/v1/verifier-key")->body;
  REQUIRE(rewritten_key == key + "\n");

  SECTION("a fresh copy of the new history verifies on its own, but not against the checkpoint accepted before") {
    TempDir second("cordon-pull");
    REQUIRE(run_command(pull_command(auditd, second.path())).status == 0);
    REQUIRE(run_command(verify_command(second.path(), key)).status == 0);
    std::filesystem::copy_file(first / "verified.note", second / "verified.note",
                               std::filesystem::copy_options::overwrite_existing);
    auto result = run_command(verify_command(second.path(), key));
    INFO(result.output);
    CHECK(result.status == 1);
    CHECK(result.output.find("first bad index") != std::string::npos);
  }
  SECTION("pulling the new history into the old copy leaves a copy that fails to verify") {
    auto pulled = run_command(pull_command(auditd, first.path()));
    INFO(pulled.output);
    REQUIRE(pulled.status == 0);
    CHECK(pulled.output.find("pulled 11 new entries") != std::string::npos);
    auto result = run_command(verify_command(first.path(), key));
    INFO(result.output);
    CHECK(result.status == 1);
    CHECK(result.output.find("first bad index") != std::string::npos);
  }
}

TEST_CASE("cordon-audit exits 1 only for evidence of tampering: usage errors and missing checkpoints exit 2") {
  TempDir copy("cordon-pull");
  REQUIRE(write_file_atomically(copy / "events.jsonl", "").has_value());
  const std::string key = "test.cordon.local/audit+82227d37+AQABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f";
  auto no_checkpoints = run_command(verify_command(copy.path(), key));
  CHECK(no_checkpoints.status == 2);
  CHECK(no_checkpoints.output.find("no signed checkpoint to verify against") != std::string::npos);
  CHECK(run_command(audit_command("export --dir " + copy.path().string() + " --format csv")).status == 2);
  CHECK(run_command(audit_command("verify --no-such-flag")).status == 2);
  CHECK(run_command(audit_command("")).status == 2);
  CHECK(run_command(audit_command("--help")).status == 0);
}

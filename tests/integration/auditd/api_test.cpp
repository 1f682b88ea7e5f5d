// auditd's Unix-socket API end to end: appends answer after durability, reads return the exact
// leaves, proofs and checkpoints match, and the tree sizes 1 and 2 behave.
#include "auditd/ledger/checkpoint.h"
#include "auditd/ledger/hash.h"
#include "auditd/ledger/merkle.h"
#include "auditd/ledger/signed_note.h"
#include "common/crypto.h"
#include "common/encoding.h"
#include "common/files.h"

#include <thread>
#include "tests/integration/auditd/helpers.h"

using namespace cordon;
using namespace cordon::testing;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    REQUIRE(end != std::string::npos);
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

ledger::Hash hash_of(const Json& base64) {
  auto hash = ledger::hash_from_base64(base64.get<std::string>());
  REQUIRE(hash);
  return *hash;
}

} // namespace

TEST_CASE("an appended event is acknowledged with its index and leaf hash and served back byte for byte") {
  RunningAuditd auditd;
  const auto before = tree_size(auditd.client);
  auto response = auditd.client.post("/v1/events", event_body("tool.executed", 1));
  REQUIRE(response);
  REQUIRE(response->status == 201);
  auto ack = parse_json(response->body).value();
  CHECK(ack["index"] == before);

  auto leaves = auditd.client.get("/v1/events?from=" + std::to_string(before));
  REQUIRE(leaves);
  CHECK(leaves->content_type == "application/jsonl");
  auto lines = lines_of(leaves->body);
  REQUIRE(lines.size() == 1);
  CHECK(ledger::hash_to_hex(ledger::leaf_hash(lines[0])) == ack["leaf_hash"]);
  auto event = parse_json(lines[0]).value();
  CHECK(event["source"] == "tester");   // from SO_PEERCRED, not from the body
  CHECK(event["tenant"] == "test");     // from auditd's configuration
  CHECK(event["kind"] == "tool.executed");
  CHECK(event["data"]["n"] == 1);
}

TEST_CASE("a batch is acknowledged together with consecutive indexes") {
  RunningAuditd auditd;
  std::string batch = "[";
  for (int i = 0; i < 256; ++i) batch += (i ? "," : "") + event_body("test.batch", i);
  batch += "]";
  auto response = auditd.client.post("/v1/events", batch);
  REQUIRE(response);
  REQUIRE(response->status == 201);
  auto acks = parse_json(response->body).value();
  REQUIRE(acks.size() == 256);
  for (std::size_t i = 1; i < acks.size(); ++i) CHECK(acks[i]["index"] == acks[i - 1]["index"].get<std::uint64_t>() + 1);
}

TEST_CASE("source and tenant in a request body are refused, never trusted") {
  RunningAuditd auditd;
  const auto before = tree_size(auditd.client);
  for (const char* field : {"source", "tenant", "index", "time", "prev"}) {
    auto body = parse_json(event_body("tool.executed", 1)).value();
    body[field] = "forged";
    auto response = auditd.client.post("/v1/events", body.dump());
    require_problem(response, 400, "unknown_field");
  }
  CHECK(tree_size(auditd.client) == before);
}

TEST_CASE("a value marked sensitive is stored only as its HMAC under the tenant salt") {
  RunningAuditd auditd;
  auto response = auditd.client.post(
      "/v1/events",
      R"({"kind":"email.sent","actor":{"type":"agent","id":"bot"},"data":{"to":"carol@example.com"},"sensitive":["/to"]})");
  REQUIRE(response);
  REQUIRE(response->status == 201);
  const auto index = parse_json(response->body).value()["index"].get<std::uint64_t>();
  auto leaves = auditd.client.get("/v1/events?from=" + std::to_string(index));
  REQUIRE(leaves);
  CHECK(leaves->body.find("carol@example.com") == std::string::npos);
  const auto salt = read_file(auditd.process.state_dir() / "audit-salt").value();
  const auto expected = "hmac-sha256:" + to_hex(crypto::hmac_sha256(as_bytes(salt), as_bytes("carol@example.com")));
  CHECK(parse_json(lines_of(leaves->body)[0]).value()["data"]["to"] == expected);
  // The auditor's CLI computes the same form from the salt.
  auto cli = run_command(binary_path("cordon-audit") + " hmac --salt-file " +
                         (auditd.process.state_dir() / "audit-salt").string() + " carol@example.com");
  CHECK(cli.status == 0);
  CHECK(cli.output == expected + "\n");
}

TEST_CASE("events can be filtered by kind, run and source, from inclusive and to exclusive") {
  RunningAuditd auditd;
  for (int i = 0; i < 20; ++i) REQUIRE(auditd.client.post("/v1/events", event_body(i % 2 ? "odd.event" : "even.event", i))->status == 201);
  const auto size = tree_size(auditd.client);
  auto odd = lines_of(auditd.client.get("/v1/events?kind=odd.event")->body);
  CHECK(odd.size() == 10);
  auto run = lines_of(auditd.client.get("/v1/events?run_id=r-3")->body);
  CHECK(run.size() == 3); // n = 3, 10, 17
  auto range = lines_of(auditd.client.get("/v1/events?from=2&to=5")->body);
  REQUIRE(range.size() == 3);
  CHECK(parse_json(range.front()).value()["index"] == 2);
  CHECK(parse_json(range.back()).value()["index"] == 4);
  auto by_source = lines_of(auditd.client.get("/v1/events?source=auditd")->body);
  CHECK(by_source.size() == size - 20); // auditd.started only
}

TEST_CASE("inclusion and consistency proofs verify against the signed checkpoint, from size 1 up") {
  RunningAuditd auditd;
  auto key_text = auditd.client.get("/v1/verifier-key")->body;
  REQUIRE(key_text.back() == '\n');
  key_text.pop_back();
  const auto key = ledger::NoteVerifierKey::parse(key_text).value();

  // Size 1: the tree is just auditd.started; its inclusion proof is empty, its root the leaf hash.
  REQUIRE(tree_size(auditd.client) == 1);
  auto one = get_json(auditd.client, "/v1/proof/inclusion?index=0&size=1");
  CHECK(one["hashes"].empty());
  auto note1 = auditd.client.get("/v1/checkpoint")->body;
  auto checkpoint1 = ledger::open_checkpoint(note1, key).value();
  CHECK(checkpoint1.size == 1);
  CHECK(checkpoint1.root == hash_of(one["leaf_hash"]));
  CHECK(get_json(auditd.client, "/v1/proof/consistency?old=1&new=1")["hashes"].empty());

  for (int i = 0; i < 40; ++i) REQUIRE(auditd.client.post("/v1/events", event_body("tool.executed", i))->status == 201);
  auto checkpoint = ledger::open_checkpoint(auditd.client.get("/v1/checkpoint")->body, key).value();
  REQUIRE(checkpoint.size == 41);
  for (std::uint64_t index = 0; index < checkpoint.size; ++index) {
    auto proof = get_json(auditd.client, "/v1/proof/inclusion?index=" + std::to_string(index) + "&size=41");
    std::vector<ledger::Hash> hashes;
    for (const auto& h : proof["hashes"]) hashes.push_back(hash_of(h));
    CHECK(ledger::verify_inclusion(index, 41, hash_of(proof["leaf_hash"]), hashes, checkpoint.root));
  }
  // Older roots recomputed here from the served leaves, independently of auditd's tree.
  ledger::MerkleTree local;
  for (const auto& leaf : lines_of(auditd.client.get("/v1/events")->body)) local.append(ledger::leaf_hash(leaf));
  REQUIRE(local.root() == checkpoint.root);
  for (std::uint64_t old = 1; old <= 41; ++old) {
    auto proof = get_json(auditd.client, "/v1/proof/consistency?old=" + std::to_string(old) + "&new=41");
    std::vector<ledger::Hash> hashes;
    for (const auto& h : proof["hashes"]) hashes.push_back(hash_of(h));
    CHECK(ledger::verify_consistency(old, 41, local.root(old).value(), checkpoint.root, hashes));
  }
  CHECK(local.root(1).value() == checkpoint1.root);
}

TEST_CASE("a checkpoint is issued on a timer while events arrive, not only on demand") {
  AuditdProcessOptions options;
  options.checkpoint_interval_ms = 200;
  RunningAuditd auditd(options);
  REQUIRE(auditd.client.post("/v1/events", event_body("tool.executed", 1))->status == 201);
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  auto persisted = read_file(auditd.process.state_dir() / "checkpoint");
  REQUIRE(persisted);
  CHECK(persisted->find("\n2\n") != std::string::npos);
}

TEST_CASE("C2SP tiles: a partial level-0 tile holds the leaf hashes and the entry bundle the leaves") {
  RunningAuditd auditd;
  for (int i = 0; i < 9; ++i) REQUIRE(auditd.client.post("/v1/events", event_body("tool.executed", i))->status == 201);
  auto tile = auditd.client.get("/tile/0/000.p/10");
  REQUIRE(tile);
  REQUIRE(tile->status == 200);
  REQUIRE(tile->body.size() == 10 * 32);
  auto leaves = lines_of(auditd.client.get("/v1/events")->body);
  for (std::size_t i = 0; i < 10; ++i) {
    auto hash = ledger::leaf_hash(leaves[i]);
    CHECK(tile->body.compare(i * 32, 32, reinterpret_cast<const char*>(hash.data()), 32) == 0);
  }
  auto bundle = auditd.client.get("/tile/entries/000.p/10");
  REQUIRE(bundle);
  REQUIRE(bundle->status == 200);
  std::size_t offset = 0;
  for (std::size_t i = 0; i < 10; ++i) {
    const auto length = (static_cast<unsigned char>(bundle->body[offset]) << 8) | static_cast<unsigned char>(bundle->body[offset + 1]);
    CHECK(bundle->body.substr(offset + 2, static_cast<std::size_t>(length)) == leaves[i]);
    offset += 2 + static_cast<std::size_t>(length);
  }
  CHECK(offset == bundle->body.size());
  // A tile the tree does not have yet, and a non-canonical path, are 404s.
  CHECK(auditd.client.get("/tile/0/000")->status == 404);
  CHECK(auditd.client.get("/tile/0/x000/000.p/10")->status == 404);
}

TEST_CASE("acknowledged events survive a clean restart and the chain continues") {
  RunningAuditd auditd;
  for (int i = 0; i < 10; ++i) REQUIRE(auditd.client.post("/v1/events", event_body("tool.executed", i))->status == 201);
  const auto before = auditd.client.get("/v1/events")->body;
  auditd.process.stop(SIGTERM);
  REQUIRE(auditd.process.start().has_value());
  ipc::UnixClient client(auditd.process.socket_path());
  auto after = client.get("/v1/events")->body;
  REQUIRE(after.substr(0, before.size()) == before);
  auto restarted = parse_json(lines_of(after).back()).value();
  CHECK(restarted["kind"] == "auditd.started");
  CHECK(restarted["prev"] == ledger::hash_to_hex(ledger::leaf_hash(lines_of(before).back())));
}

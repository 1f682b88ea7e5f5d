// Fail closed on a full disk: appends answer 503 with a problem body, nothing acknowledged is
// lost, and appends resume by themselves when space returns. The ledger lives on a small tmpfs
// mounted for the test (the suite runs as root, as CI does).
#include <unistd.h>

#include "auditd/ledger/hash.h"
#include "tests/integration/auditd/helpers.h"
#include "tests/support/small_filesystem.h"

using namespace cordon;
using namespace cordon::testing;

TEST_CASE("a full disk fails appends with 503, loses nothing acknowledged, and recovers when space returns") {
  REQUIRE(::geteuid() == 0); // mounting a tmpfs needs root; the suite runs as root
  SmallFilesystem disk("512k");
  REQUIRE(disk.mounted);
  TempDir directory("cordon-it");
  AuditdProcessOptions options;
  options.directory = directory.path();
  options.state_dir = disk.dir.path() / "auditd";
  RunningAuditd auditd(options);

  const std::string pad(2000, 'p');
  std::vector<std::pair<std::uint64_t, std::string>> acked;
  Result<ipc::Response> refused = fail(Errc::internal, "never refused");
  for (int i = 0; i < 1000; ++i) {
    auto response = auditd.client.post("/v1/events", R"({"kind":"disk.fill","actor":{"type":"system","id":"test"},"data":{"i":)" + std::to_string(i) + R"(,"pad":")" + pad + "\"}}");
    REQUIRE(response);
    if (response->status == 503) {
      refused = response;
      break;
    }
    REQUIRE(response->status == 201);
    auto ack = parse_json(response->body).value();
    acked.emplace_back(ack["index"].get<std::uint64_t>(), ack["leaf_hash"].get<std::string>());
  }
  REQUIRE(acked.size() > 50);
  require_problem(refused, 503, "unavailable");
  CHECK(parse_json(refused->body).value()["detail"].get<std::string>().find("No space left on device") != std::string::npos);

  // Still full: every further append fails the same way and the ledger does not change.
  const auto size_when_full = tree_size(auditd.client);
  for (int i = 0; i < 5; ++i) {
    auto again = auditd.client.post("/v1/events", R"({"kind":"disk.fill","actor":{"type":"system","id":"test"},"data":{"pad":")" + pad + "\"}}");
    REQUIRE(again);
    CHECK(again->status == 503);
  }
  CHECK(tree_size(auditd.client) == size_when_full);

  // Every acknowledged event is there, byte for byte as hashed.
  auto leaves = auditd.client.get("/v1/events?to=" + std::to_string(size_when_full));
  REQUIRE(leaves);
  std::vector<std::string> lines;
  for (std::size_t start = 0; start < leaves->body.size();) {
    auto end = leaves->body.find('\n', start);
    lines.push_back(leaves->body.substr(start, end - start));
    start = end + 1;
  }
  for (const auto& [index, hash] : acked) {
    REQUIRE(index < lines.size());
    CHECK(ledger::hash_to_hex(ledger::leaf_hash(lines[index])) == hash);
  }

  // Space returns: the same daemon, untouched, accepts appends again and the chain continues.
  REQUIRE(disk.resize("8m"));
  auto resumed = auditd.client.post("/v1/events", event_body("disk.resumed", 1));
  REQUIRE(resumed);
  CHECK(resumed->status == 201);
  CHECK(parse_json(resumed->body).value()["index"] == size_when_full);
  auditd.process.stop(SIGTERM);
  REQUIRE(auditd.process.start().has_value()); // and the ledger reopens cleanly after it all
}

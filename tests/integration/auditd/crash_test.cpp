// Crash safety: auditd is SIGKILLed 50 times at random moments while 8 writers append. Every
// event it acknowledged must be in the ledger afterwards, unchanged, and the ledger must verify.
#include <atomic>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "auditd/ledger/hash.h"
#include "common/files.h"
#include "tests/integration/auditd/helpers.h"

using namespace cordon;
using namespace cordon::testing;

namespace {

struct Acked {
  std::uint64_t index;
  std::string leaf_hash;
  std::string tag;
};

} // namespace

TEST_CASE("50 SIGKILLs under 8 concurrent writers lose no acknowledged event and the ledger verifies") {
  TempDir directory("cordon-crash");
  AuditdProcessOptions options;
  options.directory = directory.path();
  options.segment_bytes = 256 << 10; // small segments: crashes land around rotations too
  AuditdProcess auditd(options);
  REQUIRE(auditd.start().has_value());

  std::mutex mutex;
  std::vector<Acked> acked;
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> failures{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < 8; ++w) {
    writers.emplace_back([&, w] {
      ipc::UnixClient client(auditd.socket_path(), ipc::ClientOptions{.timeout = std::chrono::milliseconds(2000)});
      for (std::uint64_t seq = 0; !stop; ++seq) {
        const std::string tag = "w" + std::to_string(w) + "-" + std::to_string(seq);
        auto response = client.post("/v1/events", R"({"kind":"crash.test","actor":{"type":"agent","id":"writer"},"data":{"tag":")" + tag + R"(","pad":"................................................................"}})");
        if (!response || response->status != 201) {
          failures++;
          client.close();
          std::this_thread::sleep_for(std::chrono::milliseconds(2));
          continue;
        }
        auto ack = parse_json(response->body);
        if (!ack) continue;
        std::lock_guard lock(mutex);
        acked.push_back({(*ack)["index"].get<std::uint64_t>(), (*ack)["leaf_hash"].get<std::string>(), tag});
      }
    });
  }

  std::mt19937 random(20261121);
  std::uniform_int_distribution<int> pause_ms(5, 120);
  for (int crash = 0; crash < 50; ++crash) {
    std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms(random)));
    auditd.kill();
    auto restarted = auditd.start();
    INFO("restart " << crash << ": " << (restarted ? std::string() : restarted.error().message));
    REQUIRE(restarted.has_value());
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  stop = true;
  for (auto& writer : writers) writer.join();

  ipc::UnixClient client(auditd.socket_path());
  const auto size = tree_size(client);
  std::vector<std::string> leaves;
  for (std::uint64_t from = 0; from < size;) {
    auto page = client.get("/v1/events?from=" + std::to_string(from) + "&to=" + std::to_string(size));
    REQUIRE(page);
    REQUIRE(page->status == 200);
    std::size_t start = 0;
    while (start < page->body.size()) {
      auto end = page->body.find('\n', start);
      leaves.push_back(page->body.substr(start, end - start));
      start = end + 1;
    }
    from = leaves.size();
  }
  REQUIRE(leaves.size() == size);

  INFO("acknowledged " << acked.size() << " events, " << failures.load() << " requests failed during crashes, ledger size " << size);
  REQUIRE(acked.size() > 500);
  std::set<std::uint64_t> indexes;
  for (const auto& ack : acked) {
    REQUIRE(ack.index < size);
    CHECK(indexes.insert(ack.index).second);
    const auto& leaf = leaves[ack.index];
    CHECK(ledger::hash_to_hex(ledger::leaf_hash(leaf)) == ack.leaf_hash);
    CHECK(leaf.find("\"tag\":\"" + ack.tag + "\"") != std::string::npos);
  }
  // 51 starts were recorded, and the torn tails cut on the way, if any, as ledger.recovered.
  CHECK(client.get("/v1/events?kind=auditd.started")->body.size() > 0);

  // The auditor's CLI verifies the daemon's own segment files against its signed checkpoint.
  auto checkpoint = client.get("/v1/checkpoint");
  REQUIRE(write_file_atomically(directory / "checkpoint.note", checkpoint->body).has_value());
  auto key = client.get("/v1/verifier-key")->body;
  key.pop_back();
  std::string segments;
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(auditd.ledger_dir()))
    if (entry.path().extension() == ".jsonl") names.push_back(entry.path().string());
  std::sort(names.begin(), names.end());
  REQUIRE(names.size() > 1);
  for (const auto& name : names) segments += " --ledger " + name;
  auto verify = run_command(binary_path("cordon-audit") + " verify" + segments + " --checkpoint " +
                            (directory / "checkpoint.note").string() + " --key '" + key + "'");
  INFO(verify.output);
  CHECK(verify.status == 0);
}

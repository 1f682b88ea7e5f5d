#include <catch2/catch.hpp>

#include <string>
#include <thread>
#include <vector>

#include <sys/stat.h>

#include "auditd/ledger/checkpoint.h"
#include "auditd/ledger/checkpoint_signer.h"
#include "auditd/ledger/ledger.h"
#include "auditd/ledger/merkle.h"
#include "auditd/ledger/verifier.h"
#include "test_support.h"

using namespace cordon;
using namespace cordon::ledger;
using namespace cordon::ledger::testing;

namespace {

constexpr std::string_view origin = "cordon.example/acme";

// A log of `count` leaves with signed checkpoints at the given sizes.
struct SignedLog {
  std::vector<std::string> leaves;
  std::vector<std::string> checkpoints;
  NoteVerifierKey key;
  Hash root{};

  std::string jsonl() const {
    std::string out;
    for (const auto& leaf : leaves) out += leaf + "\n";
    return out;
  }
  std::size_t offset_of(std::size_t index) const {
    std::size_t offset = 0;
    for (std::size_t i = 0; i < index; ++i) offset += leaves[i].size() + 1;
    return offset;
  }
};

SignedLog signed_log(const TempDir& dir, int count, std::vector<std::uint64_t> sizes, std::size_t padding = 0) {
  SignedLog log;
  log.leaves = chained_leaves(count, padding);
  auto signer = FileCheckpointSigner::open(dir / "checkpoint.key", std::string(origin));
  REQUIRE(signer);
  log.key = (*signer)->verifier_key();
  MerkleTree tree;
  for (const auto& leaf : log.leaves) tree.append(leaf_hash(leaf));
  log.root = tree.root();
  for (const std::uint64_t size : sizes) {
    auto note = sign_checkpoint(Checkpoint{std::string(origin), size, *tree.root(size)}, **signer);
    REQUIRE(note);
    log.checkpoints.push_back(*note);
  }
  return log;
}

VerifyOptions options_for(const SignedLog& log, unsigned threads = 0) {
  VerifyOptions options;
  options.key = log.key;
  options.checkpoints = log.checkpoints;
  options.origin = std::string(origin);
  options.threads = threads;
  return options;
}

VerifyReport verify_bytes(std::string_view bytes, VerifyOptions options, std::size_t piece = 0) {
  auto verifier = LedgerVerifier::create(std::move(options));
  REQUIRE(verifier);
  if (piece == 0) {
    (*verifier)->feed(bytes);
  } else {
    for (std::size_t at = 0; at < bytes.size(); at += piece) (*verifier)->feed(bytes.substr(at, piece));
  }
  return (*verifier)->finish();
}

std::uint64_t failure_index(const VerifyReport& report) {
  REQUIRE(report.failure);
  INFO(report.failure->reason);
  return report.failure->index;
}

} // namespace

TEST_CASE("a clean log verifies against its checkpoints") {
  TempDir dir;
  const auto log = signed_log(dir, 50, {0, 1, 17, 32, 50});
  const auto report = verify_bytes(log.jsonl(), options_for(log));
  INFO((report.failure ? report.failure->reason : ""));
  REQUIRE(report.ok());
  CHECK(report.entries == 50);
  CHECK(report.root == log.root);
  CHECK(report.checkpoints.size() == 5);
  CHECK(report.checkpoints.back().size == 50);
}

TEST_CASE("a ledger written by Ledger verifies offline from its segment files") {
  TempDir dir;
  auto ledger = Ledger::open(dir / "ledger", LedgerOptions{.tenant = "acme", .salt = test_salt(), .segment_bytes = 4096});
  REQUIRE(ledger);
  for (int batch = 0; batch < 20; ++batch) {
    std::vector<PreparedEvent> events;
    for (int i = 0; i < 5; ++i) events.push_back(test_event(batch * 5 + i));
    REQUIRE((*ledger)->append_and_wait(std::move(events)));
  }
  const TreeHead head = (*ledger)->head();
  auto signer = FileCheckpointSigner::open(dir / "checkpoint.key", std::string(origin));
  REQUIRE(signer);
  VerifyOptions options;
  options.key = (*signer)->verifier_key();
  options.checkpoints.push_back(*sign_checkpoint(Checkpoint{std::string(origin), head.size, head.root}, **signer));

  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir / "ledger")) {
    if (entry.path().extension() == ".jsonl") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  REQUIRE(files.size() > 2);
  auto report = verify_jsonl_files(files, options);
  REQUIRE(report);
  INFO((report->failure ? report->failure->reason : ""));
  CHECK(report->ok());
  CHECK(report->entries == 100);
  CHECK(report->root == head.root);
}

TEST_CASE("the input may be split anywhere and hashed on any number of threads") {
  TempDir dir;
  const auto log = signed_log(dir, 40, {13, 40});
  const std::string bytes = log.jsonl();
  for (const std::size_t piece : {std::size_t{1}, std::size_t{7}, std::size_t{333}, std::size_t{0}}) {
    for (const unsigned threads : {1u, 2u, 5u}) {
      INFO("piece " << piece << ", threads " << threads);
      const auto report = verify_bytes(bytes, options_for(log, threads), piece);
      CHECK(report.ok());
      CHECK(report.root == log.root);
    }
  }
}

TEST_CASE("a large log verifies across chunks and threads") {
  TempDir dir;
  // About 20 MB: several chunks, each split among the threads.
  const auto log = signed_log(dir, 40000, {1, 12345, 32768, 39999, 40000}, 400);
  const std::string bytes = log.jsonl();
  REQUIRE(bytes.size() > std::size_t{16} << 20);
  const auto report = verify_bytes(bytes, options_for(log, 3));
  INFO((report.failure ? report.failure->reason : ""));
  CHECK(report.ok());
  CHECK(report.root == log.root);
  CHECK(report.checkpoints.size() == 5);

  std::string damaged = bytes;
  const std::size_t at = log.offset_of(33333) + 60;
  damaged[at] = damaged[at] == 'x' ? 'y' : 'x';
  CHECK(failure_index(verify_bytes(damaged, options_for(log, 3))) == 33333);
}

TEST_CASE("a flipped byte reports the first bad index") {
  TempDir dir;
  const auto log = signed_log(dir, 20, {20});
  std::string bytes = log.jsonl();
  SECTION("in the data of an entry") {
    const std::size_t at = bytes.find("\"pad\"", log.offset_of(7));
    bytes[at + 2] = 'P';
    CHECK(failure_index(verify_bytes(bytes, options_for(log))) == 7);
  }
  SECTION("breaking the JSON of an entry") {
    bytes[log.offset_of(7)] = '[';
    CHECK(failure_index(verify_bytes(bytes, options_for(log))) == 7);
  }
  SECTION("in the index of an entry") {
    const std::size_t at = bytes.find("\"index\":7", log.offset_of(7));
    bytes[at + 8] = '8';
    CHECK(failure_index(verify_bytes(bytes, options_for(log))) == 7);
  }
  SECTION("in the last entry, which only the checkpoint covers") {
    const std::size_t at = bytes.find("\"pad\"", log.offset_of(19));
    bytes[at + 2] = 'P';
    const auto report = verify_bytes(bytes, options_for(log));
    CHECK(failure_index(report) == 0); // no earlier checkpoint matched
    CHECK_THAT(report.failure->reason, Catch::Contains("not the signed checkpoint"));
  }
}

TEST_CASE("a removed line reports its position") {
  TempDir dir;
  const auto log = signed_log(dir, 20, {20});
  std::string bytes = log.jsonl();
  bytes.erase(log.offset_of(11), log.leaves[11].size() + 1);
  const auto report = verify_bytes(bytes, options_for(log));
  CHECK(failure_index(report) == 11);
  CHECK_THAT(report.failure->reason, Catch::Contains("has index 12"));
}

TEST_CASE("two swapped lines report the first of them") {
  TempDir dir;
  const auto log = signed_log(dir, 20, {20});
  std::string bytes;
  for (std::size_t i = 0; i < log.leaves.size(); ++i) {
    const std::size_t from = i == 5 ? 6 : i == 6 ? 5 : i;
    bytes += log.leaves[from] + "\n";
  }
  CHECK(failure_index(verify_bytes(bytes, options_for(log))) == 5);
}

TEST_CASE("a truncated file reports where it ends") {
  TempDir dir;
  const auto log = signed_log(dir, 20, {20});
  const std::string bytes = log.jsonl();
  SECTION("in the middle of a line") {
    const auto report = verify_bytes(bytes.substr(0, log.offset_of(15) + 40), options_for(log));
    CHECK(failure_index(report) == 15);
    CHECK_THAT(report.failure->reason, Catch::Contains("truncated"));
  }
  SECTION("at a line boundary, short of the checkpoint") {
    const auto report = verify_bytes(bytes.substr(0, log.offset_of(15)), options_for(log));
    CHECK(failure_index(report) == 15);
    CHECK_THAT(report.failure->reason, Catch::Contains("checkpoint signs 20"));
  }
  SECTION("without checkpoints, at a line boundary it is a valid shorter log") {
    const auto report = verify_bytes(bytes.substr(0, log.offset_of(15)), VerifyOptions{});
    CHECK(report.ok());
    CHECK(report.entries == 15);
  }
}

TEST_CASE("files ending in preallocated NUL bytes verify; NUL bytes anywhere else fail") {
  TempDir dir;
  const auto log = signed_log(dir, 20, {20});
  const std::string bytes = log.jsonl();
  const auto path = dir / "segment.jsonl";
  const std::vector<std::filesystem::path> files{path};
  SECTION("after the last line, as a live segment has them") {
    write_file(path, bytes + std::string(3 << 20, '\0'));
    const auto report = verify_jsonl_files(files, options_for(log));
    REQUIRE(report);
    CHECK(report->ok());
    CHECK(report->entries == 20);
  }
  SECTION("after a cut line: the entry is truncated") {
    write_file(path, bytes.substr(0, log.offset_of(19) + 10) + std::string(4096, '\0'));
    const auto report = verify_jsonl_files(files, options_for(log));
    REQUIRE(report);
    CHECK(failure_index(*report) == 19);
  }
  SECTION("inside the log") {
    std::string holed = bytes;
    holed.replace(log.offset_of(7), 64, std::string(64, '\0'));
    write_file(path, holed);
    const auto report = verify_jsonl_files(files, options_for(log));
    REQUIRE(report);
    CHECK(failure_index(*report) == 7);
  }
}

TEST_CASE("a rewritten suffix is caught by the checkpoint and reported after the last good one") {
  TempDir dir;
  const auto log = signed_log(dir, 30, {10, 30});
  // Rebuild entries 20.. with different data but a valid chain: only the root can tell.
  auto forged = log.leaves;
  const auto other = chained_leaves(30, 3);
  Hash prev = leaf_hash(forged[19]);
  for (std::size_t i = 20; i < 30; ++i) {
    std::string leaf = other[i];
    const std::size_t at = leaf.find("\"prev\":\"") + 8;
    leaf.replace(at, 64, hash_to_hex(prev));
    forged[i] = leaf;
    prev = leaf_hash(leaf);
  }
  std::string bytes;
  for (const auto& leaf : forged) bytes += leaf + "\n";
  const auto report = verify_bytes(bytes, options_for(log));
  CHECK(failure_index(report) == 10);
  CHECK(report.checkpoints.size() == 1);
}

TEST_CASE("checkpoints are checked against the pinned key before any entry") {
  TempDir dir;
  const auto log = signed_log(dir, 5, {5});
  TempDir other_dir;
  const auto other = signed_log(other_dir, 5, {5});
  VerifyOptions options = options_for(log);
  options.key = other.key;
  auto verifier = LedgerVerifier::create(options);
  REQUIRE_FALSE(verifier);
  CHECK(verifier.error().code == Errc::integrity);

  VerifyOptions no_key = options_for(log);
  no_key.key.reset();
  CHECK(LedgerVerifier::create(no_key).error().code == Errc::invalid_argument);

  VerifyOptions wrong_origin = options_for(log);
  wrong_origin.origin = "other.example";
  CHECK(LedgerVerifier::create(wrong_origin).error().code == Errc::integrity);
}

TEST_CASE("a canonical check catches bytes that are well formed but not canonical") {
  TempDir dir;
  auto leaves = chained_leaves(3);
  // Re-link a non-canonical entry 2 (its data members out of order) into the chain.
  std::string leaf = leaves[2];
  leaf.replace(leaf.find("{\"i\":2,\"pad\":\"\"}"), 16, "{\"pad\":\"\",\"i\":2}");
  leaves[2] = leaf;
  std::string bytes;
  for (const auto& l : leaves) bytes += l + "\n";
  CHECK(verify_bytes(bytes, VerifyOptions{}).ok());
  VerifyOptions strict;
  strict.canonical = true;
  CHECK(failure_index(verify_bytes(bytes, strict)) == 2);
}

TEST_CASE("an empty log verifies to the empty root") {
  const auto report = verify_bytes("", VerifyOptions{});
  CHECK(report.ok());
  CHECK(report.entries == 0);
  CHECK(report.root == empty_root());
}

TEST_CASE("a file larger than one mapped window verifies, and damage past the window's edge is found") {
  TempDir dir;
  // About 20 MB, so the file is mapped in two windows (16 MiB each) and lines cross the edge.
  const auto log = signed_log(dir, 40000, {1, 33000, 40000}, 400);
  const std::string bytes = log.jsonl();
  REQUIRE(bytes.size() > std::size_t{16} << 20);
  const auto path = dir / "big.jsonl";
  const std::vector<std::filesystem::path> files{path};
  write_file(path, bytes);
  const auto clean = verify_jsonl_files(files, options_for(log, 2));
  REQUIRE(clean);
  INFO((clean->failure ? clean->failure->reason : ""));
  CHECK(clean->ok());
  CHECK(clean->root == log.root);
  CHECK(clean->checkpoints.size() == 3);

  // The entry that straddles the 16 MiB edge, damaged on the window's far side.
  std::size_t straddling = 0;
  while (log.offset_of(straddling + 1) <= (std::size_t{16} << 20)) ++straddling;
  std::string damaged = bytes;
  const std::size_t at = log.offset_of(straddling + 1) - 3;
  REQUIRE(at >= std::size_t{16} << 20);
  damaged[at] = damaged[at] == 'x' ? 'y' : 'x';
  write_file(path, damaged);
  const auto report = verify_jsonl_files(files, options_for(log, 2));
  REQUIRE(report);
  CHECK(failure_index(*report) == straddling);
}

TEST_CASE("a pipe is read to its end and verified like a file") {
  TempDir dir;
  const auto log = signed_log(dir, 300, {300});
  const std::string bytes = log.jsonl();
  const auto path = dir / "pipe";
  REQUIRE(::mkfifo(path.c_str(), 0600) == 0);
  std::thread writer([&] { write_file(path, bytes); });
  const std::vector<std::filesystem::path> files{path};
  const auto report = verify_jsonl_files(files, options_for(log));
  writer.join();
  REQUIRE(report);
  CHECK(report->ok());
  CHECK(report->entries == 300);
  CHECK(report->root == log.root);
}

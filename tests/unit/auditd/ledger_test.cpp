#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "auditd/ledger/ledger.h"
#include "test_support.h"
#include "tests/support/faulty_disk.h"

using namespace cordon;
using namespace cordon::ledger;
using namespace cordon::ledger::testing;

namespace {

LedgerOptions test_options() {
  LedgerOptions options;
  options.tenant = "acme";
  options.salt = test_salt();
  return options;
}

std::unique_ptr<Ledger> open_ledger(const TempDir& dir, LedgerOptions options = test_options(),
                                    const Clock& clock = SystemClock::instance()) {
  auto ledger = Ledger::open(dir / "ledger", std::move(options), clock);
  INFO((ledger ? std::string() : ledger.error().message));
  REQUIRE(ledger);
  return std::move(*ledger);
}

std::vector<PreparedEvent> events_of(std::initializer_list<int> numbers) {
  std::vector<PreparedEvent> events;
  for (const int n : numbers) events.push_back(test_event(n));
  return events;
}

} // namespace

TEST_CASE("events are acknowledged with consecutive indexes and their leaf hashes") {
  TempDir dir;
  auto ledger = open_ledger(dir);
  auto first = ledger->append_and_wait(events_of({1, 2, 3}));
  REQUIRE(first);
  REQUIRE(first->size() == 3);
  for (std::uint64_t i = 0; i < 3; ++i) {
    CHECK((*first)[i].index == i);
    CHECK((*first)[i].leaf_hash == hash_to_hex(*ledger->leaf_hash(i)));
  }
  auto second = ledger->append_and_wait(events_of({4}));
  REQUIRE(second);
  CHECK((*second)[0].index == 3);
  CHECK(ledger->size() == 4);
  CHECK(ledger->append_and_wait({})->empty());

  auto page = ledger->events(0, 10);
  REQUIRE(page);
  REQUIRE(page->entries.size() == 4);
  auto parsed = parse_leaf(page->entries[3].leaf);
  REQUIRE(parsed);
  CHECK(parsed->index == 3);
  CHECK(parsed->prev == *ledger->leaf_hash(2));
  CHECK(parsed->tenant == "acme");
  CHECK(parsed->source == "agentd");
  CHECK(parsed->data["n"] == 4);
}

TEST_CASE("concurrent appends are each acknowledged once with distinct consecutive indexes") {
  TempDir dir;
  constexpr int threads = 16;
  constexpr int requests_per_thread = 40;
  std::mutex mutex;
  std::vector<Ack> acks;
  std::vector<std::pair<std::uint64_t, std::size_t>> batches; // first index, size
  std::atomic<int> failures{0};
  Hash root{};
  {
    auto ledger = open_ledger(dir);
    std::vector<std::thread> writers;
    for (int t = 0; t < threads; ++t) {
      writers.emplace_back([&, t] {
        for (int r = 0; r < requests_per_thread; ++r) {
          const int size = 1 + (t + r) % 3;
          std::vector<PreparedEvent> events;
          for (int k = 0; k < size; ++k) events.push_back(test_event(t * 1000 + r * 10 + k));
          auto result = ledger->append_and_wait(std::move(events));
          if (!result || result->size() != static_cast<std::size_t>(size)) {
            ++failures;
            continue;
          }
          std::lock_guard lock(mutex);
          batches.emplace_back((*result)[0].index, result->size());
          for (std::size_t k = 0; k < result->size(); ++k) {
            if ((*result)[k].index != (*result)[0].index + k) ++failures; // a request stays together
            acks.push_back((*result)[k]);
          }
        }
      });
    }
    for (auto& writer : writers) writer.join();
    CHECK(failures == 0);
    CHECK(ledger->size() == acks.size());
    root = ledger->head().root;
  }
  std::sort(acks.begin(), acks.end(), [](const Ack& a, const Ack& b) { return a.index < b.index; });
  for (std::size_t i = 0; i < acks.size(); ++i) REQUIRE(acks[i].index == i);

  // Every acknowledged event is on disk after reopening, with the acknowledged hash.
  auto reopened = open_ledger(dir);
  CHECK(reopened->size() == acks.size());
  CHECK(reopened->head().root == root);
  for (const Ack& ack : acks) REQUIRE(hash_to_hex(*reopened->leaf_hash(ack.index)) == ack.leaf_hash);
  auto page = reopened->events(0, acks.size(), {}, acks.size());
  REQUIRE(page);
  for (const auto& entry : page->entries) REQUIRE(hash_to_hex(leaf_hash(entry.leaf)) == acks[entry.index].leaf_hash);
}

TEST_CASE("the asynchronous append calls back exactly once per request") {
  TempDir dir;
  auto ledger = open_ledger(dir);
  std::atomic<int> calls{0};
  for (int i = 0; i < 100; ++i) {
    ledger->append(events_of({i}), [&](Result<std::vector<Ack>> acks) {
      CHECK(acks);
      ++calls;
    });
  }
  ledger.reset(); // commits everything queued before stopping
  CHECK(calls == 100);
  auto reopened = open_ledger(dir);
  CHECK(reopened->size() == 100);
}

TEST_CASE("events can be filtered by kind, run and source") {
  TempDir dir;
  auto ledger = open_ledger(dir);
  std::vector<PreparedEvent> events;
  events.push_back(test_event(0, "decision.issued", "approvald", "r-1"));
  events.push_back(test_event(1, "tool.executed", "agentd", "r-1"));
  events.push_back(test_event(2, "tool.executed", "agentd", "r-2"));
  events.push_back(test_event(3, "lease.issued", "secretsd"));
  events.push_back(test_event(4, "tool.executed", "agentd", "r \"quoted\""));
  REQUIRE(ledger->append_and_wait(std::move(events)));

  const auto indexes = [&](const EventFilter& filter, std::uint64_t from = 0, std::uint64_t to = 100,
                           std::size_t limit = 100) {
    auto page = ledger->events(from, to, filter, limit);
    REQUIRE(page);
    std::vector<std::uint64_t> out;
    for (const auto& entry : page->entries) out.push_back(entry.index);
    return out;
  };
  CHECK(indexes({}) == std::vector<std::uint64_t>{0, 1, 2, 3, 4});
  CHECK(indexes({.kind = "tool.executed"}) == std::vector<std::uint64_t>{1, 2, 4});
  CHECK(indexes({.run_id = "r-1"}) == std::vector<std::uint64_t>{0, 1});
  CHECK(indexes({.run_id = "r \"quoted\""}) == std::vector<std::uint64_t>{4});
  CHECK(indexes({.source = "secretsd"}) == std::vector<std::uint64_t>{3});
  CHECK(indexes({.kind = "tool.executed", .run_id = "r-2"}) == std::vector<std::uint64_t>{2});
  CHECK(indexes({.kind = "nothing.matches"}).empty());
  CHECK(indexes({}, 1, 3) == std::vector<std::uint64_t>{1, 2});

  auto limited = ledger->events(0, 100, {.kind = "tool.executed"}, 2);
  REQUIRE(limited);
  CHECK(limited->entries.size() == 2);
  CHECK(limited->next == 3);
  auto rest = ledger->events(limited->next, 100, {.kind = "tool.executed"}, 2);
  CHECK(rest->entries.size() == 1);
  CHECK(rest->next == 5);

  // A byte cap ends a page early, but never before its first entry.
  const std::size_t leaf_bytes = ledger->events(0, 1)->entries.front().leaf.size();
  auto capped = ledger->events(0, 100, {}, 100, leaf_bytes + 1);
  REQUIRE(capped);
  CHECK(capped->entries.size() == 1);
  CHECK(capped->next == 1);
  auto tiny = ledger->events(2, 100, {}, 100, 1);
  REQUIRE(tiny);
  CHECK(tiny->entries.size() == 1);
  CHECK(tiny->next == 3);

  CHECK(ledger->events(6, 10).error().code == Errc::invalid_argument);
  CHECK(ledger->events(3, 2).error().code == Errc::invalid_argument);
  CHECK(ledger->events(5, 5)->entries.empty());
}

TEST_CASE("the ledger's proofs verify against its roots") {
  TempDir dir;
  auto ledger = open_ledger(dir);
  for (int batch = 0; batch < 10; ++batch) REQUIRE(ledger->append_and_wait(events_of({batch, batch + 100, batch + 200})));
  const auto head = ledger->head();
  REQUIRE(head.size == 30);
  CHECK(*ledger->root(30) == head.root);
  for (std::uint64_t size : {1, 7, 16, 30}) {
    const Hash root = *ledger->root(size);
    for (std::uint64_t index = 0; index < size; index += 3) {
      CHECK(verify_inclusion(index, size, *ledger->leaf_hash(index), *ledger->inclusion_proof(index, size), root));
    }
    CHECK(verify_consistency(size, 30, root, head.root, *ledger->consistency_proof(size, 30)));
  }
  CHECK(ledger->root(31).error().code == Errc::invalid_argument);
  CHECK(ledger->leaf_hash(30).error().code == Errc::not_found);
  CHECK(*ledger->root(0) == empty_root());
}

TEST_CASE("tiles and entry bundles follow C2SP tlog-tiles") {
  TempDir dir;
  auto ledger = open_ledger(dir);
  std::vector<PreparedEvent> events;
  for (int i = 0; i < 300; ++i) events.push_back(test_event(i));
  REQUIRE(ledger->append_and_wait(std::move(events)));

  auto full = ledger->tile(0, 0, 256);
  REQUIRE(full);
  REQUIRE(full->size() == 256 * 32);
  CHECK(full->substr(5 * 32, 32) ==
        std::string(reinterpret_cast<const char*>(ledger->leaf_hash(5)->data()), 32));
  auto partial = ledger->tile(0, 1, 44);
  REQUIRE(partial);
  CHECK(partial->substr(43 * 32) == std::string(reinterpret_cast<const char*>(ledger->leaf_hash(299)->data()), 32));
  CHECK(ledger->tile(0, 1, 45).error().code == Errc::not_found);
  auto level_one = ledger->tile(1, 0, 1);
  REQUIRE(level_one);
  CHECK(*level_one == std::string(reinterpret_cast<const char*>(ledger->root(256)->data()), 32));
  CHECK(ledger->tile(1, 0, 2).error().code == Errc::not_found);
  CHECK(ledger->tile(0, 0, 0).error().code == Errc::invalid_argument);
  CHECK(ledger->tile(0, 0, 257).error().code == Errc::invalid_argument);
  CHECK(ledger->tile(8, 0, 1).error().code == Errc::invalid_argument);

  auto bundle = ledger->entry_bundle(1, 44);
  REQUIRE(bundle);
  auto page = ledger->events(256, 300, {}, 100);
  std::string expected;
  for (const auto& entry : page->entries) {
    expected.push_back(static_cast<char>(entry.leaf.size() >> 8));
    expected.push_back(static_cast<char>(entry.leaf.size() & 0xff));
    expected += entry.leaf;
  }
  CHECK(*bundle == expected);
  CHECK(ledger->entry_bundle(1, 45).error().code == Errc::not_found);
  CHECK(ledger->entry_bundle(0, 256)->size() > 256 * 2);
}

TEST_CASE("a full disk fails the group's appends and the ledger recovers when space returns") {
  TempDir dir;
  cordon::testing::FaultyDisk disk;
  LedgerOptions options = test_options();
  options.disk = &disk;
  auto ledger = open_ledger(dir, std::move(options));
  REQUIRE(ledger->append_and_wait(events_of({1, 2})));
  disk.full = true;
  auto failed = ledger->append_and_wait(events_of({3}));
  REQUIRE_FALSE(failed);
  CHECK(failed.error().code == Errc::unavailable);
  CHECK(failed.error().message == "ledger write failed: No space left on device");
  CHECK(ledger->size() == 2);
  disk.full = false;
  auto retried = ledger->append_and_wait(events_of({4}));
  REQUIRE(retried);
  CHECK((*retried)[0].index == 2);
  auto page = ledger->events(2, 3);
  CHECK(parse_leaf(page->entries[0].leaf)->prev == *ledger->leaf_hash(1));
}

TEST_CASE("event times come from the clock and never go backwards") {
  TempDir dir;
  ManualClock clock(std::chrono::sys_days(std::chrono::year(2026) / 11 / 21) + std::chrono::hours(10) +
                    std::chrono::microseconds(123456));
  auto ledger = open_ledger(dir, test_options(), clock);
  REQUIRE(ledger->append_and_wait(events_of({1})));
  clock.advance(-std::chrono::hours(1));
  REQUIRE(ledger->append_and_wait(events_of({2})));
  clock.advance(std::chrono::hours(2));
  REQUIRE(ledger->append_and_wait(events_of({3})));
  auto page = ledger->events(0, 3);
  CHECK(parse_leaf(page->entries[0].leaf)->time == "2026-11-21T10:00:00.123456Z");
  CHECK(parse_leaf(page->entries[1].leaf)->time == "2026-11-21T10:00:00.123456Z");
  CHECK(parse_leaf(page->entries[2].leaf)->time == "2026-11-21T11:00:00.123456Z");

  // Also across a restart.
  ledger.reset();
  clock.advance(-std::chrono::hours(5));
  auto reopened = open_ledger(dir, test_options(), clock);
  REQUIRE(reopened->append_and_wait(events_of({4})));
  CHECK(parse_leaf(reopened->events(3, 4)->entries[0].leaf)->time == "2026-11-21T11:00:00.123456Z");
}

TEST_CASE("a ledger needs a tenant and a salt") {
  TempDir dir;
  LedgerOptions no_salt = test_options();
  no_salt.salt.resize(8);
  CHECK(Ledger::open(dir / "a", no_salt).error().code == Errc::invalid_argument);
  LedgerOptions no_tenant = test_options();
  no_tenant.tenant.clear();
  CHECK(Ledger::open(dir / "b", no_tenant).error().code == Errc::invalid_argument);
}

TEST_CASE("a full commit queue refuses at once instead of growing") {
  TempDir dir;
  LedgerOptions options = test_options();
  options.max_queued_events = 2;
  auto ledger = open_ledger(dir, std::move(options));
  auto too_many = ledger->append_and_wait(events_of({1, 2, 3}));
  REQUIRE_FALSE(too_many);
  CHECK(too_many.error().code == Errc::unavailable);
  CHECK(ledger->append_and_wait(events_of({1, 2})));
}

TEST_CASE("the commit hook sees each new size") {
  TempDir dir;
  std::vector<std::uint64_t> sizes;
  LedgerOptions options = test_options();
  options.on_commit = [&](std::uint64_t size) { sizes.push_back(size); };
  auto ledger = open_ledger(dir, std::move(options));
  REQUIRE(ledger->append_and_wait(events_of({1, 2})));
  REQUIRE(ledger->append_and_wait(events_of({3})));
  ledger.reset();
  CHECK(sizes == std::vector<std::uint64_t>{2, 3});
}

TEST_CASE("an entry changed on disk after opening is refused when read") {
  TempDir dir;
  auto ledger = open_ledger(dir);
  REQUIRE(ledger->append_and_wait(events_of({1, 2, 3})));
  const auto path = dir / "ledger" / "seg-0000000000000000.jsonl";
  std::string bytes = read_file(path);
  bytes[bytes.find("row 2")] = 'R';
  write_file(path, bytes);
  CHECK(ledger->events(0, 3).error().code == Errc::integrity);
  CHECK(ledger->entry_bundle(0, 3).error().code == Errc::integrity);
}

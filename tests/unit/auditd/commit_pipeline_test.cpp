// The ledger's commit pipeline: several groups written and syncing at once, acknowledged only in
// write order and only once durable, and failures that take down every later group in flight.

#include <catch2/catch.hpp>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "auditd/ledger/ledger.h"
#include "test_support.h"

using namespace cordon;
using namespace cordon::ledger;
using namespace cordon::ledger::testing;
using namespace std::chrono_literals;

namespace {

// A disk whose data syncs can be held at a gate and made to fail by number.
class GatedDisk final : public Disk {
public:
  // While closed, each sync_data waits until the gate opens.
  void close_gate() {
    std::lock_guard lock(m_mutex);
    m_open = false;
  }
  void open_gate() {
    {
      std::lock_guard lock(m_mutex);
      m_open = true;
    }
    m_changed.notify_all();
  }
  // Waits until `n` syncs are waiting at the gate (or 5 s pass).
  bool wait_for_waiting(int n) {
    std::unique_lock lock(m_mutex);
    return m_changed.wait_for(lock, 5s, [&] { return m_waiting >= n; });
  }
  // The sync with this number (1-based, counting every sync_data) fails with EIO.
  std::atomic<int> fail_sync{0};
  std::atomic<int> syncs{0};
  // While set, writes and preallocation fail with ENOSPC.
  std::atomic<bool> fail_writes{false};

  int write_at(int fd, std::string_view bytes, std::uint64_t offset) override {
    return fail_writes ? ENOSPC : system_disk().write_at(fd, bytes, offset);
  }
  int sync_data(int fd) override {
    const int number = ++syncs;
    {
      std::unique_lock lock(m_mutex);
      ++m_waiting;
      m_changed.notify_all();
      m_changed.wait(lock, [&] { return m_open; });
      --m_waiting;
    }
    if (number == fail_sync) return EIO;
    return system_disk().sync_data(fd);
  }
  int sync_all(int fd) override { return system_disk().sync_all(fd); }
  int truncate(int fd, std::uint64_t length) override { return system_disk().truncate(fd, length); }
  int allocate(int fd, std::uint64_t offset, std::uint64_t length) override {
    return fail_writes ? ENOSPC : system_disk().allocate(fd, offset, length);
  }

private:
  std::mutex m_mutex;
  std::condition_variable m_changed;
  bool m_open = true;
  int m_waiting = 0;
};

LedgerOptions pipeline_options(GatedDisk& disk, unsigned depth) {
  LedgerOptions options;
  options.tenant = "acme";
  options.salt = test_salt();
  options.disk = &disk;
  options.sync_depth = depth;
  return options;
}

std::vector<PreparedEvent> one_event(int n) {
  std::vector<PreparedEvent> events;
  events.push_back(test_event(n));
  return events;
}

// Appends one event asynchronously; the future holds its outcome.
std::future<Result<std::vector<Ack>>> append_one(Ledger& ledger, int n) {
  auto outcome = std::make_shared<std::promise<Result<std::vector<Ack>>>>();
  auto future = outcome->get_future();
  ledger.append(one_event(n), [outcome](Result<std::vector<Ack>> result) {
    outcome->set_value(std::move(result));
  });
  return future;
}

bool ready(const std::future<Result<std::vector<Ack>>>& future) {
  return future.wait_for(0s) == std::future_status::ready;
}

} // namespace

TEST_CASE("with several syncs in flight, groups are acknowledged in write order once durable") {
  TempDir dir;
  GatedDisk disk;
  auto ledger = *Ledger::open(dir / "ledger", pipeline_options(disk, 3));
  disk.close_gate();

  // Three groups, each written and then held in its own sync.
  std::vector<std::future<Result<std::vector<Ack>>>> outcomes;
  for (int n = 0; n < 3; ++n) {
    outcomes.push_back(append_one(*ledger, n));
    REQUIRE(disk.wait_for_waiting(n + 1));
  }
  // A fourth waits in the queue: the pipeline is full.
  outcomes.push_back(append_one(*ledger, 3));
  std::this_thread::sleep_for(50ms);
  CHECK(disk.syncs == 3);
  for (const auto& outcome : outcomes) CHECK_FALSE(ready(outcome));
  CHECK(ledger->size() == 0); // readers see nothing that is not durable

  disk.open_gate();
  for (int n = 0; n < 4; ++n) {
    auto result = outcomes[n].get();
    REQUIRE(result);
    CHECK((*result)[0].index == static_cast<std::uint64_t>(n));
  }
  CHECK(ledger->size() == 4);
}

TEST_CASE("a failed sync fails its group and every later one in flight, and earlier ones stand") {
  TempDir dir;
  GatedDisk disk;
  Hash root_before{};
  {
    auto ledger = *Ledger::open(dir / "ledger", pipeline_options(disk, 4));
    REQUIRE(ledger->append_and_wait(one_event(100))); // sync 1
    disk.close_gate();
    disk.fail_sync = 3; // the second group of the four below
    std::vector<std::future<Result<std::vector<Ack>>>> outcomes;
    for (int n = 0; n < 4; ++n) {
      outcomes.push_back(append_one(*ledger, n));
      REQUIRE(disk.wait_for_waiting(n + 1));
    }
    disk.open_gate();

    auto first = outcomes[0].get();
    REQUIRE(first);
    CHECK((*first)[0].index == 1);
    for (int n = 1; n < 4; ++n) {
      auto failed = outcomes[n].get();
      REQUIRE_FALSE(failed);
      CHECK(failed.error().code == Errc::unavailable);
      CHECK(failed.error().message == "ledger write failed: Input/output error");
    }
    CHECK(ledger->size() == 2);

    // The chain goes on from the last acknowledged event.
    auto next = ledger->append_and_wait(one_event(9));
    REQUIRE(next);
    CHECK((*next)[0].index == 2);
    CHECK(parse_leaf(ledger->events(2, 3)->entries[0].leaf)->prev == *ledger->leaf_hash(1));
    root_before = ledger->head().root;
  }
  // On disk are exactly the acknowledged events.
  GatedDisk plain;
  auto reopened = *Ledger::open(dir / "ledger", pipeline_options(plain, 4));
  CHECK(reopened->size() == 3);
  CHECK(reopened->head().root == root_before);
  CHECK(reopened->recovered_bytes() == 0);
}

TEST_CASE("a write that fails while an earlier group syncs fails alone and the earlier one stands") {
  TempDir dir;
  GatedDisk disk;
  auto ledger = *Ledger::open(dir / "ledger", pipeline_options(disk, 2));
  disk.close_gate();
  auto first = append_one(*ledger, 1);
  REQUIRE(disk.wait_for_waiting(1));
  disk.fail_writes = true; // the disk fills up after the first group was written
  auto second = append_one(*ledger, 2);
  std::this_thread::sleep_for(50ms);
  CHECK_FALSE(ready(second)); // not before the group ahead of it is settled
  disk.open_gate();
  auto acked = first.get();
  REQUIRE(acked);
  CHECK((*acked)[0].index == 0);
  auto refused = second.get();
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message == "ledger write failed: No space left on device");
  CHECK(ledger->size() == 1);

  disk.fail_writes = false;
  auto retried = ledger->append_and_wait(one_event(3));
  REQUIRE(retried);
  CHECK((*retried)[0].index == 1);
  CHECK(parse_leaf(ledger->events(1, 2)->entries[0].leaf)->prev == *ledger->leaf_hash(0));
}

TEST_CASE("many writers through a deep pipeline and small segments leave a valid ledger") {
  TempDir dir;
  GatedDisk disk;
  LedgerOptions options = pipeline_options(disk, 4);
  options.segment_bytes = 16 << 10; // rotations happen while groups are in flight
  std::atomic<std::uint64_t> acknowledged{0};
  Hash root{};
  {
    auto ledger = *Ledger::open(dir / "ledger", options);
    std::vector<std::thread> writers;
    for (int t = 0; t < 8; ++t) {
      writers.emplace_back([&, t] {
        for (int r = 0; r < 60; ++r) {
          if (ledger->append_and_wait(one_event(t * 100 + r))) ++acknowledged;
        }
      });
    }
    for (auto& writer : writers) writer.join();
    root = ledger->head().root;
    CHECK(ledger->size() == acknowledged);
  }
  CHECK(acknowledged == 480);
  std::size_t segments = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir / "ledger")) {
    if (entry.path().filename().string().starts_with("seg-")) ++segments;
  }
  CHECK(segments > 3);
  GatedDisk plain;
  auto reopened = *Ledger::open(dir / "ledger", pipeline_options(plain, 1));
  CHECK(reopened->size() == 480);
  CHECK(reopened->head().root == root);
}

TEST_CASE("the sync depth is checked") {
  TempDir dir;
  GatedDisk disk;
  CHECK(Ledger::open(dir / "a", pipeline_options(disk, 0)).error().code == Errc::invalid_argument);
  CHECK(Ledger::open(dir / "b", pipeline_options(disk, SegmentStore::max_sync_slots + 1))
            .error()
            .code == Errc::invalid_argument);
}

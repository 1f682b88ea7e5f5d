#include <atomic>
#include <condition_variable>
#include <future>

#include <pqxx/pqxx>

#include "auditd/sinks/jsonl_sink.h"
#include "auditd/sinks/postgres_sink.h"
#include "sink_test_helpers.h"

namespace cordon::audit::test {
namespace {

using Catch::Matchers::Contains;

// The seam: an in-memory sink whose writes can fail, store a prefix and fail, throw, or block.
class FakeSink final : public Sink {
public:
  std::string_view name() const override { return "fake"; }

  Result<std::uint64_t> cursor() override {
    const std::lock_guard lock(m_mutex);
    ++m_cursor_calls;
    if (m_fail_cursor) return fail(Errc::unavailable, "fake sink is unreachable");
    return m_stored.size();
  }

  Result<void> write(std::uint64_t first_index, std::span<const SinkEntry> entries) override {
    std::unique_lock lock(m_mutex);
    ++m_writes_entered;
    m_release.wait(lock, [&] { return !m_blocked; });
    ++m_write_calls;
    m_largest_batch = std::max(m_largest_batch, entries.size());
    if (m_throw_next) {
      m_throw_next = false;
      throw std::runtime_error("fake sink bug");
    }
    // Stores like a real sink: skip what it holds, refuse a gap.
    if (first_index > m_stored.size()) return fail(Errc::conflict, "gap");
    m_resent += m_stored.size() - first_index;
    auto fresh = entries.subspan(m_stored.size() - first_index);
    if (m_failures_left > 0) {
      --m_failures_left;
      // Keeps half of the batch, as a sink that fails mid-way may.
      for (const auto& entry : fresh.first(fresh.size() / 2)) m_stored.push_back(entry);
      return fail(Errc::io_error, "fake sink failed mid-batch");
    }
    for (const auto& entry : fresh) m_stored.push_back(entry);
    return ok();
  }

  void fail_next_writes(int count) {
    const std::lock_guard lock(m_mutex);
    m_failures_left = count;
  }
  void fail_cursor(bool fail_it) {
    const std::lock_guard lock(m_mutex);
    m_fail_cursor = fail_it;
  }
  void throw_next_write() {
    const std::lock_guard lock(m_mutex);
    m_throw_next = true;
  }
  void block_writes(bool block) {
    {
      const std::lock_guard lock(m_mutex);
      m_blocked = block;
    }
    m_release.notify_all();
  }
  // Stores entries directly, as if a previous run had written them.
  void preload(const std::vector<SinkEntry>& entries) {
    const std::lock_guard lock(m_mutex);
    m_stored = entries;
  }
  std::vector<SinkEntry> stored() const {
    const std::lock_guard lock(m_mutex);
    return m_stored;
  }
  std::size_t largest_batch() const {
    const std::lock_guard lock(m_mutex);
    return m_largest_batch;
  }
  int write_calls() const {
    const std::lock_guard lock(m_mutex);
    return m_write_calls;
  }
  // Entries sent again although the sink already held them.
  std::size_t resent() const {
    const std::lock_guard lock(m_mutex);
    return m_resent;
  }
  int writes_entered() const {
    const std::lock_guard lock(m_mutex);
    return m_writes_entered;
  }

private:
  mutable std::mutex m_mutex;
  std::condition_variable m_release;
  std::vector<SinkEntry> m_stored;
  int m_failures_left = 0;
  bool m_fail_cursor = false;
  bool m_throw_next = false;
  bool m_blocked = false;
  std::size_t m_largest_batch = 0;
  std::size_t m_resent = 0;
  int m_write_calls = 0;
  int m_writes_entered = 0;
  int m_cursor_calls = 0;
};

// Decorates a real sink with writes that fail while `failing` is set.
class FailingWrites final : public Sink {
public:
  FailingWrites(Sink& inner, std::atomic<bool>& failing) : m_inner(inner), m_failing(failing) {}
  std::string_view name() const override { return m_inner.name(); }
  Result<std::uint64_t> cursor() override { return m_inner.cursor(); }
  Result<void> write(std::uint64_t first_index, std::span<const SinkEntry> entries) override {
    if (m_failing) return fail(Errc::io_error, "cannot append: Permission denied (simulated)");
    return m_inner.write(first_index, entries);
  }

private:
  Sink& m_inner;
  std::atomic<bool>& m_failing;
};

// Counts state-change reports by state.
struct StateChanges {
  std::mutex mutex;
  std::vector<std::pair<SinkState, std::string>> changes;

  std::function<void(SinkState, std::string_view)> recorder() {
    return [this](SinkState state, std::string_view message) {
      const std::lock_guard lock(mutex);
      changes.emplace_back(state, std::string(message));
    };
  }
  int count(SinkState state) {
    const std::lock_guard lock(mutex);
    return static_cast<int>(std::count_if(changes.begin(), changes.end(),
                                          [&](const auto& change) { return change.first == state; }));
  }
};

SinkRunnerOptions fast_options(StateChanges* changes = nullptr) {
  SinkRunnerOptions options;
  options.initial_backoff = 5ms;
  options.max_backoff = 40ms;
  options.on_state_change = changes != nullptr ? changes->recorder()
                                               : [](SinkState, std::string_view) {};
  return options;
}

bool same_entries(const std::vector<SinkEntry>& a, const std::vector<SinkEntry>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].index != b[i].index || a[i].leaf != b[i].leaf ||
        a[i].leaf_hash_hex != b[i].leaf_hash_hex) {
      return false;
    }
  }
  return true;
}

TEST_CASE("runner copies every committed entry in order, in batches of at most max_batch") {
  MemoryLedger ledger;
  const auto size = ledger.append(2500);
  auto fake = std::make_unique<FakeSink>();
  auto* sink = fake.get();
  auto options = fast_options();
  options.max_batch = 1000;

  SinkRunner runner(std::move(fake), ledger.reader(), size, options);
  REQUIRE(wait_until([&] { return runner.status().cursor == 2500; }));
  CHECK(same_entries(sink->stored(), ledger.all()));
  CHECK(sink->largest_batch() == 1000);
  CHECK(runner.status().state == SinkState::up);
  CHECK(runner.status().lag == 0);
}

TEST_CASE("runner copies entries committed after it started once notified") {
  MemoryLedger ledger;
  auto fake = std::make_unique<FakeSink>();
  auto* sink = fake.get();
  SinkRunner runner(std::move(fake), ledger.reader(), 0, fast_options());

  for (int commit = 0; commit < 20; ++commit) runner.notify(ledger.append(7));
  REQUIRE(wait_until([&] { return runner.status().cursor == 140; }));
  CHECK(same_entries(sink->stored(), ledger.all()));
}

TEST_CASE("runner resumes from the sink's own cursor, not from zero") {
  MemoryLedger ledger;
  const auto size = ledger.append(50);
  auto fake = std::make_unique<FakeSink>();
  auto* sink = fake.get();
  sink->preload(make_entries(0, 30));

  SinkRunner runner(std::move(fake), ledger.reader(), size, fast_options());
  REQUIRE(wait_until([&] { return runner.status().cursor == 50; }));
  CHECK(same_entries(sink->stored(), ledger.all()));
  CHECK(sink->largest_batch() == 20);
}

TEST_CASE("runner notify returns at once while the sink is stuck in a write") {
  MemoryLedger ledger;
  auto fake = std::make_unique<FakeSink>();
  auto* sink = fake.get();
  sink->block_writes(true);
  SinkRunner runner(std::move(fake), ledger.reader(), ledger.append(1), fast_options());
  REQUIRE(wait_until([&] { return sink->writes_entered() == 1; })); // blocked inside write()

  // Should notify() wait on the sink, this releases it after 2 s so the test fails, not hangs.
  std::promise<void> notified;
  std::thread releaser([&, done = notified.get_future()] {
    done.wait_for(2s);
    sink->block_writes(false);
  });
  const auto size = ledger.append(10000);
  const auto started = std::chrono::steady_clock::now();
  for (std::uint64_t n = 2; n <= size; ++n) runner.notify(n);
  const auto elapsed = std::chrono::steady_clock::now() - started;
  notified.set_value();
  releaser.join();
  // 10,000 calls, each an atomic and a wake-up: milliseconds, where a notify() that waited on
  // the sink would take the releaser's 2 s. The bound leaves room for a loaded sanitizer run.
  CHECK(elapsed < 1500ms);
  CHECK(runner.status().ledger_size == size);

  REQUIRE(wait_until([&] { return runner.status().cursor == size; }));
  CHECK(same_entries(sink->stored(), ledger.all()));
}

TEST_CASE("runner retries a failing sink from its cursor with no gap or duplicate") {
  MemoryLedger ledger;
  auto fake = std::make_unique<FakeSink>();
  auto* sink = fake.get();
  sink->fail_next_writes(4); // each failure keeps half of its batch
  auto options = fast_options();
  options.max_batch = 100;

  SinkRunner runner(std::move(fake), ledger.reader(), ledger.append(1000), options);
  REQUIRE(wait_until([&] { return runner.status().cursor == 1000; }));
  CHECK(same_entries(sink->stored(), ledger.all()));
  CHECK(sink->resent() == 0); // each retry started at the sink's cursor, past the kept half
  const auto status = runner.status();
  CHECK(status.state == SinkState::up);
  CHECK(status.consecutive_failures == 0);
  REQUIRE(status.last_error);
  CHECK_THAT(status.last_error->message, Contains("fake sink failed mid-batch"));
  CHECK(status.last_success_time);
}

TEST_CASE("runner reports a sink going down and coming back once each, not per retry") {
  MemoryLedger ledger;
  StateChanges changes;
  auto fake = std::make_unique<FakeSink>();
  auto* sink = fake.get();
  sink->fail_next_writes(6);

  SinkRunner runner(std::move(fake), ledger.reader(), ledger.append(10), fast_options(&changes));
  REQUIRE(wait_until([&] { return runner.status().cursor == 10; }));
  CHECK(sink->write_calls() == 7);
  CHECK(changes.count(SinkState::down) == 1);
  CHECK(changes.count(SinkState::up) == 1);
  const std::lock_guard lock(changes.mutex);
  REQUIRE(changes.changes.size() == 2);
  CHECK_THAT(changes.changes[0].second, Contains("fake is down"));
  CHECK_THAT(changes.changes[1].second, Contains("fake is up again at index 10 after 6 failed"));
}

TEST_CASE("runner status shows the error, the failure count and the lag while the sink is down") {
  MemoryLedger ledger;
  auto fake = std::make_unique<FakeSink>();
  auto* sink = fake.get();
  sink->fail_cursor(true);

  SinkRunner runner(std::move(fake), ledger.reader(), ledger.append(25), fast_options());
  REQUIRE(wait_until([&] { return runner.status().consecutive_failures >= 3; }));
  auto status = runner.status();
  CHECK(status.name == "fake");
  CHECK(status.state == SinkState::down);
  CHECK(status.lag == 25);
  REQUIRE(status.last_error);
  CHECK(status.last_error->code == Errc::unavailable);
  CHECK_FALSE(status.last_success_time);

  sink->fail_cursor(false);
  REQUIRE(wait_until([&] { return runner.status().cursor == 25; }));
  CHECK(runner.status().state == SinkState::up);
}

TEST_CASE("runner retry delay doubles from the initial backoff up to the cap") {
  SinkRunnerOptions options;
  options.initial_backoff = 100ms;
  options.max_backoff = 5000ms;
  CHECK(retry_delay(options, 1) == 100ms);
  CHECK(retry_delay(options, 2) == 200ms);
  CHECK(retry_delay(options, 3) == 400ms);
  CHECK(retry_delay(options, 6) == 3200ms);
  CHECK(retry_delay(options, 7) == 5000ms);
  CHECK(retry_delay(options, 4000000000u) == 5000ms);
}

TEST_CASE("runner waits out its backoff before retrying a failed sink") {
  MemoryLedger ledger;
  auto fake = std::make_unique<FakeSink>();
  auto* sink = fake.get();
  sink->fail_next_writes(1);
  auto options = fast_options();
  options.initial_backoff = 300ms;
  options.max_backoff = 300ms;

  const auto started = std::chrono::steady_clock::now();
  SinkRunner runner(std::move(fake), ledger.reader(), ledger.append(3), options);
  REQUIRE(wait_until([&] { return runner.status().cursor == 3; }));
  CHECK(std::chrono::steady_clock::now() - started >= 300ms);
  CHECK(sink->write_calls() == 2);
}

TEST_CASE("runner stop returns promptly during a long backoff") {
  MemoryLedger ledger;
  auto fake = std::make_unique<FakeSink>();
  fake->fail_cursor(true);
  auto options = fast_options();
  options.initial_backoff = 60s;
  options.max_backoff = 60s;

  SinkRunner runner(std::move(fake), ledger.reader(), ledger.append(1), options);
  REQUIRE(wait_until([&] { return runner.status().consecutive_failures == 1; }));
  const auto started = std::chrono::steady_clock::now();
  runner.stop();
  CHECK(std::chrono::steady_clock::now() - started < 1s);
}

TEST_CASE("runner reports a sink that throws as a failure and carries on") {
  MemoryLedger ledger;
  auto fake = std::make_unique<FakeSink>();
  auto* sink = fake.get();
  sink->throw_next_write();

  SinkRunner runner(std::move(fake), ledger.reader(), ledger.append(5), fast_options());
  REQUIRE(wait_until([&] { return runner.status().cursor == 5; }));
  REQUIRE(runner.status().last_error);
  CHECK(runner.status().last_error->code == Errc::internal);
  CHECK_THAT(runner.status().last_error->message, Contains("fake sink bug"));
  CHECK(same_entries(sink->stored(), ledger.all()));
}

TEST_CASE("runner reports a sink holding more entries than the ledger as an integrity failure") {
  MemoryLedger ledger;
  auto fake = std::make_unique<FakeSink>();
  fake->preload(make_entries(0, 9));

  SinkRunner runner(std::move(fake), ledger.reader(), ledger.append(4), fast_options());
  REQUIRE(wait_until([&] { return runner.status().state == SinkState::down; }));
  REQUIRE(runner.status().last_error);
  CHECK(runner.status().last_error->code == Errc::integrity);
  CHECK_THAT(runner.status().last_error->message, Contains("holds 9 entries, the ledger only 4"));
}

TEST_CASE("runner retries a failed ledger read without losing entries") {
  MemoryLedger ledger;
  const auto size = ledger.append(10);
  std::atomic<int> failures_left{3};
  auto read = ledger.reader();
  auto flaky_read = [&](std::uint64_t from, std::size_t max) -> Result<std::vector<SinkEntry>> {
    if (failures_left.fetch_sub(1) > 0) return fail(Errc::io_error, "ledger disk hiccup");
    return read(from, max);
  };
  auto fake = std::make_unique<FakeSink>();
  auto* sink = fake.get();

  SinkRunner runner(std::move(fake), flaky_read, size, fast_options());
  REQUIRE(wait_until([&] { return runner.status().cursor == 10; }));
  CHECK(same_entries(sink->stored(), ledger.all()));
  REQUIRE(runner.status().last_error);
  CHECK_THAT(runner.status().last_error->message, Contains("ledger read from index 0 failed"));
}

TEST_CASE("runner with PostgreSQL stopped mid-stream keeps notify unblocked, reports the error and "
          "catches up exactly after restart") {
  auto server = start_postgres();
  MemoryLedger ledger;
  StateChanges changes;
  PostgresSinkOptions sink_options;
  sink_options.dsn = server->dsn();
  sink_options.tenant = "acme";
  auto options = fast_options(&changes);
  options.initial_backoff = 20ms;
  options.max_backoff = 200ms;
  options.max_batch = 250;

  SinkRunner runner(std::make_unique<PostgresSink>(sink_options), ledger.reader(),
                    ledger.append(500), options);
  REQUIRE(wait_until([&] { return runner.status().cursor == 500; }));

  REQUIRE(server->stop());
  std::chrono::steady_clock::duration slowest_notify{};
  for (int commit = 0; commit < 40; ++commit) {
    const auto size = ledger.append(50);
    const auto started = std::chrono::steady_clock::now();
    runner.notify(size);
    slowest_notify = std::max(slowest_notify, std::chrono::steady_clock::now() - started);
  }
  CHECK(slowest_notify < 100ms); // no wait on the dead server
  REQUIRE(wait_until([&] { return runner.status().state == SinkState::down; }));
  auto status = runner.status();
  REQUIRE(status.last_error);
  CHECK(status.last_error->code == Errc::unavailable);
  CHECK(status.cursor == 500);
  CHECK(status.lag == 2000);

  REQUIRE(server->start());
  REQUIRE(wait_until([&] { return runner.status().cursor == 2500; }));
  CHECK(runner.status().state == SinkState::up);
  CHECK(changes.count(SinkState::down) == 1);
  CHECK(changes.count(SinkState::up) == 1);

  pqxx::connection session(server->superuser_dsn());
  pqxx::work transaction(session);
  const auto rows = transaction.exec(
      "SELECT idx, leaf, leaf_hash FROM cordon_audit_events WHERE tenant_id = 'acme' ORDER BY idx");
  const auto expected = ledger.all();
  REQUIRE(rows.size() == expected.size());
  bool exact = true;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    exact = exact && rows[i][0].as<std::uint64_t>() == i &&
            rows[i][1].as<std::string>() == expected[i].leaf &&
            rows[i][2].as<std::string>() == expected[i].leaf_hash_hex;
  }
  CHECK(exact);
}

TEST_CASE("runner catches up into a JSONL file whose directory could not be created at first") {
  TempDirectory directory;
  const auto blocker = directory.path() / "sinks";
  std::ofstream(blocker) << "a file where the sink's directory should be";
  const auto path = blocker / "audit.jsonl";
  MemoryLedger ledger;
  StateChanges changes;

  SinkRunner runner(std::make_unique<JsonlSink>(path), ledger.reader(), ledger.append(20),
                    fast_options(&changes));
  REQUIRE(wait_until([&] { return runner.status().state == SinkState::down; }));
  REQUIRE(runner.status().last_error);
  CHECK_THAT(runner.status().last_error->message, Contains("cannot create directory"));
  runner.notify(ledger.append(5));

  std::filesystem::remove(blocker);
  REQUIRE(wait_until([&] { return runner.status().cursor == 25; }));
  CHECK(read_file(path) == as_lines(ledger.all()));
  CHECK(changes.count(SinkState::down) == 1);
  CHECK(changes.count(SinkState::up) == 1);
}

TEST_CASE("runner catches up into a JSONL file after its writes failed for a while") {
  TempDirectory directory;
  const auto path = directory.path() / "audit.jsonl";
  JsonlSink jsonl(path);
  std::atomic<bool> failing{false};
  MemoryLedger ledger;

  SinkRunner runner(std::make_unique<FailingWrites>(jsonl, failing), ledger.reader(),
                    ledger.append(10), fast_options());
  REQUIRE(wait_until([&] { return runner.status().cursor == 10; }));
  failing = true;
  for (int commit = 0; commit < 10; ++commit) runner.notify(ledger.append(3));
  REQUIRE(wait_until([&] { return runner.status().consecutive_failures >= 2; }));
  CHECK(runner.status().cursor == 10);

  failing = false;
  REQUIRE(wait_until([&] { return runner.status().cursor == 40; }));
  runner.stop();
  CHECK(read_file(path) == as_lines(ledger.all()));
}

} // namespace
} // namespace cordon::audit::test

#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "auditd/sinks/sink.h"

namespace cordon::audit {

enum class SinkState {
  starting, // nothing attempted yet
  up,       // the last attempt succeeded, or the sink was found caught up
  down,     // the last attempt failed; retrying with backoff
};

std::string_view sink_state_name(SinkState state);

struct SinkRunnerOptions {
  // Entries per Sink::write() at most.
  std::size_t max_batch = 1000;
  // After the n-th consecutive failure the runner waits initial_backoff × 2^(n-1), at most
  // max_backoff, then starts again from the sink's own cursor().
  std::chrono::milliseconds initial_backoff{100};
  std::chrono::milliseconds max_backoff{5000};
  // Called once per state change (a sink going down, a sink back up), never once per retry,
  // from the runner's thread. Empty: the change is logged with common/log.h (warn when down,
  // info when up again, with fields sink, index and error).
  std::function<void(SinkState state, std::string_view message)> on_state_change;
};

// A snapshot for the status route.
struct SinkStatus {
  std::string name;
  SinkState state = SinkState::starting;
  std::uint64_t cursor = 0;      // next index the sink needs, as last read from or written to it
  std::uint64_t ledger_size = 0; // entries the ledger has committed, as last notified
  std::uint64_t lag = 0;         // ledger_size - cursor, or 0 if the sink is ahead
  std::uint32_t consecutive_failures = 0;
  std::optional<Error> last_error; // kept after recovery, with its time, for the operator
  std::optional<std::chrono::system_clock::time_point> last_error_time;
  std::optional<std::chrono::system_clock::time_point> last_success_time;
};

// Reads up to `max` committed ledger entries from index `from`, in order (the ledger's own API).
using SinkReadFunction =
    std::function<Result<std::vector<SinkEntry>>(std::uint64_t from, std::size_t max)>;

// The wait before the next attempt after `consecutive_failures` (≥ 1) failures in a row.
std::chrono::milliseconds retry_delay(const SinkRunnerOptions& options,
                                      std::uint32_t consecutive_failures);

// Copies the ledger into one sink on a thread of its own, so that a slow or dead sink never
// blocks the ledger (DESIGN.md §7). The ledger calls notify() after each commit; the runner reads
// committed entries with `read` and writes them in batches. On any failure (of the sink or of
// `read`) it backs off and restarts from the sink's cursor(), so it never skips or duplicates
// an entry, whatever prefix of a failed batch the sink kept.
//
// The runner starts copying in the constructor and stops in stop() or the destructor.
//
// Wiring in auditd: after the ledger has recovered, one runner per configured sink, with
// `ledger_size` = the ledger's size and `read` adapting its range read to SinkEntry; the ledger's
// post-commit hook calls notify(new size) only once the group commit is on disk, so that no sink
// ever holds an entry the ledger could still lose in a crash (a sink found ahead of the ledger is
// reported as Errc::integrity, never skipped over).
class SinkRunner {
public:
  // `ledger_size` is the number of entries committed when the runner starts; `sink` is not null.
  SinkRunner(std::unique_ptr<Sink> sink, SinkReadFunction read, std::uint64_t ledger_size,
             SinkRunnerOptions options = {});
  ~SinkRunner();
  SinkRunner(const SinkRunner&) = delete;
  SinkRunner& operator=(const SinkRunner&) = delete;

  // Tells the runner the ledger now holds `ledger_size` committed entries. Cheap and never
  // waits on the sink: an atomic maximum and a condition-variable wake-up. Out-of-order calls
  // from concurrent committers are fine (the largest size wins).
  void notify(std::uint64_t ledger_size) noexcept;

  SinkStatus status() const;

  // Wakes the runner and joins its thread. Prompt, including during a backoff wait; a sink call
  // already in progress is finished first (its own timeouts bound it). Idempotent; not to be
  // called concurrently with itself.
  void stop();

private:
  void run();
  // Reads the sink's cursor and checks it against the ledger.
  Result<std::uint64_t> resume_point();
  // Records a failure and waits the retry delay; false once stopping.
  bool back_off(Error error);
  // Waits until the ledger holds more than `cursor` entries; false once stopping.
  bool wait_for_entries(std::uint64_t cursor);
  // Waits `delay` unless stopped first; false once stopping.
  bool wait_or_stop(std::chrono::milliseconds delay);
  // Reads and writes one batch from `cursor`; returns the new cursor.
  Result<std::uint64_t> copy_batch(std::uint64_t cursor);
  void record_success(std::uint64_t cursor);
  // Returns the number of consecutive failures, this one included.
  std::uint32_t record_failure(Error error);
  void set_cursor(std::uint64_t cursor);
  void report(SinkState state, std::uint64_t cursor, const Error* error,
              std::string_view message) const;

  std::unique_ptr<Sink> m_sink;
  SinkReadFunction m_read;
  SinkRunnerOptions m_options;
  std::string m_name;

  std::atomic<std::uint64_t> m_ledger_size;
  std::atomic<bool> m_stopping{false};
  std::mutex m_wake_mutex; // guards no data: orders notify()/stop() against the runner's waits
  std::condition_variable m_wake;

  mutable std::mutex m_status_mutex;
  SinkStatus m_status;

  std::thread m_thread; // last: starts once every other member is initialised
};

} // namespace cordon::audit

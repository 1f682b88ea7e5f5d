#include "auditd/sinks/sink_runner.h"

#include <algorithm>
#include <exception>
#include <utility>

#include <fmt/format.h>

#include "common/log.h"

namespace cordon::audit {
namespace {

// The runner's exception boundary: a sink or read function that throws (a bug) is reported like
// any other failure instead of terminating the daemon.
template <class Call>
auto catching(std::string_view what, Call&& call) -> decltype(call()) {
  try {
    return call();
  } catch (const std::exception& e) {
    return fail(Errc::internal, fmt::format("{} threw: {}", what, e.what()));
  } catch (...) {
    return fail(Errc::internal, fmt::format("{} threw a non-standard exception", what));
  }
}

std::string describe(const Error& error) {
  return fmt::format("{}: {}", errc_name(error.code), error.message);
}

} // namespace

std::string_view sink_state_name(SinkState state) {
  switch (state) {
  case SinkState::starting: return "starting";
  case SinkState::up: return "up";
  case SinkState::down: return "down";
  }
  return "down";
}

std::chrono::milliseconds retry_delay(const SinkRunnerOptions& options,
                                      std::uint32_t consecutive_failures) {
  auto delay = options.initial_backoff;
  for (std::uint32_t i = 1; i < consecutive_failures && delay < options.max_backoff; ++i) {
    delay *= 2;
  }
  return std::min(delay, options.max_backoff);
}

SinkRunner::SinkRunner(std::unique_ptr<Sink> sink, SinkReadFunction read,
                       std::uint64_t ledger_size, SinkRunnerOptions options)
    : m_sink(std::move(sink)), m_read(std::move(read)), m_options(std::move(options)),
      m_name(m_sink->name()), m_ledger_size(ledger_size) {
  m_options.max_batch = std::max<std::size_t>(m_options.max_batch, 1);
  m_status.name = m_name;
  m_status.ledger_size = ledger_size;
  m_thread = std::thread([this] { run(); });
}

SinkRunner::~SinkRunner() { stop(); }

void SinkRunner::notify(std::uint64_t ledger_size) noexcept {
  auto current = m_ledger_size.load();
  while (current < ledger_size && !m_ledger_size.compare_exchange_weak(current, ledger_size)) {
  }
  if (current >= ledger_size) return;
  // Taking the mutex once, empty, orders this store before a runner that has checked the size
  // under the mutex and is about to wait: without it the wake-up could be lost.
  { const std::lock_guard lock(m_wake_mutex); }
  m_wake.notify_one();
}

void SinkRunner::stop() {
  {
    const std::lock_guard lock(m_wake_mutex);
    m_stopping = true;
  }
  m_wake.notify_all();
  if (m_thread.joinable()) m_thread.join();
}

SinkStatus SinkRunner::status() const {
  const std::lock_guard lock(m_status_mutex);
  SinkStatus status = m_status;
  status.ledger_size = m_ledger_size.load();
  status.lag = status.ledger_size > status.cursor ? status.ledger_size - status.cursor : 0;
  return status;
}

void SinkRunner::run() {
  std::optional<std::uint64_t> cursor;
  while (!m_stopping) {
    if (!cursor) {
      auto stored = resume_point();
      if (!stored) {
        if (!back_off(std::move(stored.error()))) break;
        continue;
      }
      cursor = *stored;
    }
    if (!wait_for_entries(*cursor)) break;
    auto copied = copy_batch(*cursor);
    if (!copied) {
      cursor.reset(); // the sink may have kept any prefix of the batch: ask it
      if (!back_off(std::move(copied.error()))) break;
      continue;
    }
    cursor = *copied;
    record_success(*cursor);
  }
}

Result<std::uint64_t> SinkRunner::resume_point() {
  const auto cursor = CORDON_TRY(catching("cursor()", [&] { return m_sink->cursor(); }));
  set_cursor(cursor);
  const auto ledger_size = m_ledger_size.load();
  if (cursor > ledger_size) {
    // The copy holds entries this ledger never committed: another ledger's copy, or a ledger
    // that lost entries. Either way it is for a human to look at, not to skip over.
    return fail(Errc::integrity, fmt::format("{} holds {} entries, the ledger only {}", m_name,
                                             cursor, ledger_size));
  }
  // Caught up: the sink is healthy even though there is nothing to write.
  if (cursor == ledger_size) record_success(cursor);
  return cursor;
}

bool SinkRunner::back_off(Error error) {
  return wait_or_stop(retry_delay(m_options, record_failure(std::move(error))));
}

bool SinkRunner::wait_for_entries(std::uint64_t cursor) {
  std::unique_lock lock(m_wake_mutex);
  m_wake.wait(lock, [&] { return m_stopping || m_ledger_size.load() > cursor; });
  return !m_stopping;
}

bool SinkRunner::wait_or_stop(std::chrono::milliseconds delay) {
  std::unique_lock lock(m_wake_mutex);
  return !m_wake.wait_for(lock, delay, [&] { return m_stopping.load(); });
}

Result<std::uint64_t> SinkRunner::copy_batch(std::uint64_t cursor) {
  const auto available = m_ledger_size.load() - cursor;
  const auto count = static_cast<std::size_t>(std::min<std::uint64_t>(available, m_options.max_batch));
  auto entries = catching("ledger read", [&] { return m_read(cursor, count); });
  if (!entries) {
    return fail(entries.error().code, fmt::format("ledger read from index {} failed: {}", cursor,
                                                  entries.error().message));
  }
  if (entries->empty() || entries->size() > count) {
    return fail(Errc::internal, fmt::format("ledger read from index {} returned {} entries, "
                                            "expected 1 to {}",
                                            cursor, entries->size(), count));
  }
  if (auto consecutive = check_consecutive(cursor, *entries); !consecutive) {
    return fail(Errc::internal, "ledger read returned " + consecutive.error().message);
  }
  CORDON_TRY_VOID(catching("write()", [&] { return m_sink->write(cursor, *entries); }));
  return cursor + entries->size();
}

void SinkRunner::set_cursor(std::uint64_t cursor) {
  const std::lock_guard lock(m_status_mutex);
  m_status.cursor = cursor;
}

void SinkRunner::record_success(std::uint64_t cursor) {
  std::string message;
  {
    const std::lock_guard lock(m_status_mutex);
    if (m_status.state == SinkState::down) {
      message = fmt::format("audit sink {} is up again at index {} after {} failed attempts",
                            m_name, cursor, m_status.consecutive_failures);
    }
    m_status.state = SinkState::up;
    m_status.cursor = cursor;
    m_status.consecutive_failures = 0;
    m_status.last_success_time = std::chrono::system_clock::now();
  }
  if (!message.empty()) report(SinkState::up, cursor, nullptr, message);
}

std::uint32_t SinkRunner::record_failure(Error error) {
  std::string message;
  std::uint32_t failures = 0;
  std::uint64_t cursor = 0;
  {
    const std::lock_guard lock(m_status_mutex);
    cursor = m_status.cursor;
    if (m_status.state != SinkState::down) {
      message = fmt::format("audit sink {} is down at index {}, retrying with backoff: {}", m_name,
                            cursor, describe(error));
    }
    m_status.state = SinkState::down;
    failures = ++m_status.consecutive_failures;
    m_status.last_error = error;
    m_status.last_error_time = std::chrono::system_clock::now();
  }
  if (!message.empty()) report(SinkState::down, cursor, &error, message);
  return failures;
}

void SinkRunner::report(SinkState state, std::uint64_t cursor, const Error* error,
                        std::string_view message) const {
  if (m_options.on_state_change) {
    m_options.on_state_change(state, message);
    return;
  }
  const auto index = std::to_string(cursor);
  if (error == nullptr) {
    log::info(message, {{"sink", m_name}, {"index", index}});
    return;
  }
  const auto reason = describe(*error);
  log::warn(message, {{"sink", m_name}, {"index", index}, {"error", reason}});
}

} // namespace cordon::audit

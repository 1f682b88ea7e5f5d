#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.h"

namespace cordon {

// The source of time for everything that stamps, expires or times out. Logic classes take a
// `Clock&` so that tests can drive time with ManualClock instead of sleeping.
class Clock {
public:
  virtual ~Clock() = default;
  // Wall-clock time (UTC), for timestamps that leave the process.
  virtual std::chrono::system_clock::time_point now() const = 0;
  // Monotonic time, for durations and deadlines inside the process.
  virtual std::chrono::steady_clock::time_point steady() const = 0;
};

// The real clocks. Stateless; one shared instance is enough.
class SystemClock final : public Clock {
public:
  std::chrono::system_clock::time_point now() const override;
  std::chrono::steady_clock::time_point steady() const override;
  static SystemClock& instance();
};

// A clock that moves only when told to. Both readings start at the given wall time / the epoch
// of steady_clock and advance together. Thread-safe.
class ManualClock final : public Clock {
public:
  explicit ManualClock(std::chrono::system_clock::time_point start = {});
  std::chrono::system_clock::time_point now() const override;
  std::chrono::steady_clock::time_point steady() const override;
  // Moves both readings forward (a negative duration moves the wall clock back, as a step of
  // the system clock can; the steady reading never goes back).
  void advance(std::chrono::nanoseconds by);
  // Sets the wall clock; the steady reading is unchanged.
  void set(std::chrono::system_clock::time_point to);

private:
  std::atomic<std::int64_t> m_wall_ns;
  std::atomic<std::int64_t> m_steady_ns{0};
};

// Whole seconds since the Unix epoch, truncated towards the past.
std::int64_t unix_seconds(std::chrono::system_clock::time_point time);

// RFC 3339 UTC with exactly six fraction digits, e.g. "2026-11-21T10:00:00.123456Z". Sub-micro-
// second precision is truncated towards the past. Years outside 0000..9999 are not representable
// and are clamped to that range.
std::string format_rfc3339_micros(std::chrono::system_clock::time_point time);

// Parses an RFC 3339 date-time: "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)". Accepts a
// lowercase 't'/'z' and 1..9 fraction digits (RFC 3339 §5.6). Rejects everything else, including
// leap seconds (":60"), impossible dates, trailing characters and instants system_clock cannot
// hold (libstdc++ counts nanoseconds: 1677-09-21 to 2262-04-11), with Errc::invalid_argument.
Result<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view text);

} // namespace cordon

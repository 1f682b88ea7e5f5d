#include <chrono>

#include <catch2/catch.hpp>

#include "common/clock.h"

using namespace cordon;
using namespace std::chrono;

namespace {

system_clock::time_point at(int y, unsigned m, unsigned d, int hh, int mm, int ss,
                            microseconds fraction = microseconds(0)) {
  return time_point_cast<system_clock::duration>(sys_days(year(y) / month(m) / day(d)) + hours(hh) +
                                                 minutes(mm) + seconds(ss) + fraction);
}

} // namespace

TEST_CASE("RFC 3339 formatting is UTC with exactly six fraction digits") {
  CHECK(format_rfc3339_micros(at(2026, 11, 21, 10, 0, 0, microseconds(123456))) ==
        "2026-11-21T10:00:00.123456Z");
  CHECK(format_rfc3339_micros(at(2026, 11, 21, 10, 0, 0)) == "2026-11-21T10:00:00.000000Z");
  CHECK(format_rfc3339_micros(system_clock::time_point{}) == "1970-01-01T00:00:00.000000Z");
  CHECK(format_rfc3339_micros(at(2024, 2, 29, 23, 59, 59, microseconds(999999))) ==
        "2024-02-29T23:59:59.999999Z");
}

TEST_CASE("RFC 3339 formatting truncates below a microsecond towards the past") {
  auto time = at(2026, 1, 2, 3, 4, 5) + nanoseconds(1999);
  CHECK(format_rfc3339_micros(time) == "2026-01-02T03:04:05.000001Z");
  auto before_epoch = system_clock::time_point{} - nanoseconds(500);
  CHECK(format_rfc3339_micros(before_epoch) == "1969-12-31T23:59:59.999999Z");
}

TEST_CASE("RFC 3339 parsing round-trips what formatting produces") {
  auto time = at(2026, 11, 21, 10, 0, 0, microseconds(123456));
  auto parsed = parse_rfc3339(format_rfc3339_micros(time));
  REQUIRE(parsed);
  CHECK(*parsed == time);
}

TEST_CASE("RFC 3339 parsing applies offsets and accepts the grammar's variants") {
  auto expected = at(2026, 11, 21, 10, 0, 0);
  auto with_offset = parse_rfc3339("2026-11-21T12:30:00+02:30");
  REQUIRE(with_offset);
  CHECK(*with_offset == expected);
  auto negative = parse_rfc3339("2026-11-21T05:00:00-05:00");
  REQUIRE(negative);
  CHECK(*negative == expected);
  auto lowercase = parse_rfc3339("2026-11-21t10:00:00z");
  REQUIRE(lowercase);
  CHECK(*lowercase == expected);
  auto nanos = parse_rfc3339("2026-11-21T10:00:00.000000001Z");
  REQUIRE(nanos);
  CHECK(*nanos - expected == nanoseconds(1));
}

TEST_CASE("RFC 3339 parsing rejects malformed and impossible times") {
  for (const char* text : {"", "2026-11-21", "2026-11-21T10:00:00", "2026-11-21 10:00:00Z",
                           "2026-02-30T10:00:00Z", "2026-11-21T24:00:00Z", "2026-11-21T10:00:60Z",
                           "2026-11-21T10:00:00.Z", "2026-11-21T10:00:00.1234567890Z",
                           "2026-11-21T10:00:00+0200", "2026-11-21T10:00:00Zjunk",
                           "+2026-11-21T10:00:00Z", "2026-1-21T10:00:00Z"}) {
    INFO(text);
    auto parsed = parse_rfc3339(text);
    REQUIRE_FALSE(parsed);
    CHECK(parsed.error().code == Errc::invalid_argument);
  }
}

TEST_CASE("RFC 3339 parsing refuses instants system_clock cannot hold, and accepts its ends") {
  for (const char* text : {"0000-01-01T00:00:00Z", "1677-09-21T00:12:43Z", "2262-04-11T23:47:17Z",
                           "4052-11-21T10:00:01.123456Z", "9999-12-31T23:59:59.999999Z"}) {
    INFO(text);
    auto parsed = parse_rfc3339(text);
    REQUIRE_FALSE(parsed);
    CHECK(parsed.error().code == Errc::invalid_argument);
  }
  auto earliest = parse_rfc3339("1677-09-21T00:12:44.5Z");
  REQUIRE(earliest);
  CHECK(format_rfc3339_micros(*earliest) == "1677-09-21T00:12:44.500000Z");
  auto latest = parse_rfc3339("2262-04-11T23:47:15.999999999Z");
  REQUIRE(latest);
  CHECK(format_rfc3339_micros(*latest) == "2262-04-11T23:47:15.999999Z");
}

TEST_CASE("manual clock moves only when told") {
  ManualClock clock(at(2026, 11, 21, 10, 0, 0));
  auto wall = clock.now();
  auto steady = clock.steady();
  CHECK(clock.now() == wall);
  clock.advance(seconds(90));
  CHECK(clock.now() - wall == seconds(90));
  CHECK(clock.steady() - steady == seconds(90));
  clock.set(at(2030, 1, 1, 0, 0, 0));
  CHECK(format_rfc3339_micros(clock.now()) == "2030-01-01T00:00:00.000000Z");
  CHECK(clock.steady() - steady == seconds(90));
}

TEST_CASE("system clock reads the real time") {
  Clock& clock = SystemClock::instance();
  auto before = system_clock::now();
  auto now = clock.now();
  CHECK(now >= before);
  CHECK(now - before < seconds(5));
  auto steady = clock.steady();
  auto later = steady_clock::now();
  CHECK(steady <= later);
}

#include "common/clock.h"

#include <algorithm>

namespace cordon {

namespace {

using std::chrono::duration_cast;
using std::chrono::nanoseconds;

// Writes `value` as exactly `width` decimal digits (value must fit).
void put_digits(char* out, unsigned value, int width) {
  for (int i = width - 1; i >= 0; --i) {
    out[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
}

// Reads exactly `width` decimal digits at text[pos]; false if any is not a digit.
bool read_digits(std::string_view text, std::size_t pos, int width, int& value) {
  if (pos + static_cast<std::size_t>(width) > text.size()) return false;
  value = 0;
  for (int i = 0; i < width; ++i) {
    char c = text[pos + static_cast<std::size_t>(i)];
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  return true;
}

} // namespace

std::chrono::system_clock::time_point SystemClock::now() const {
  return std::chrono::system_clock::now();
}

std::chrono::steady_clock::time_point SystemClock::steady() const {
  return std::chrono::steady_clock::now();
}

SystemClock& SystemClock::instance() {
  static SystemClock clock;
  return clock;
}

ManualClock::ManualClock(std::chrono::system_clock::time_point start)
    : m_wall_ns(duration_cast<nanoseconds>(start.time_since_epoch()).count()) {}

std::chrono::system_clock::time_point ManualClock::now() const {
  return std::chrono::system_clock::time_point(
      duration_cast<std::chrono::system_clock::duration>(nanoseconds(m_wall_ns.load())));
}

std::chrono::steady_clock::time_point ManualClock::steady() const {
  return std::chrono::steady_clock::time_point(
      duration_cast<std::chrono::steady_clock::duration>(nanoseconds(m_steady_ns.load())));
}

void ManualClock::advance(std::chrono::nanoseconds by) {
  m_wall_ns.fetch_add(by.count());
  if (by.count() > 0) m_steady_ns.fetch_add(by.count());
}

void ManualClock::set(std::chrono::system_clock::time_point to) {
  m_wall_ns.store(duration_cast<nanoseconds>(to.time_since_epoch()).count());
}

std::int64_t unix_seconds(std::chrono::system_clock::time_point time) {
  return std::chrono::floor<std::chrono::seconds>(time).time_since_epoch().count();
}

std::string format_rfc3339_micros(std::chrono::system_clock::time_point time) {
  using namespace std::chrono;
  constexpr auto min_time = sys_days(year(0) / January / 1);
  constexpr auto max_time = sys_days(year(9999) / December / 31) + days(1) - microseconds(1);
  auto micros = floor<microseconds>(time);
  micros = std::clamp<sys_time<microseconds>>(micros, min_time, max_time);
  auto day = floor<days>(micros);
  year_month_day date(day);
  auto in_day = micros - day;
  auto hours_part = duration_cast<hours>(in_day);
  auto minutes_part = duration_cast<minutes>(in_day - hours_part);
  auto seconds_part = duration_cast<seconds>(in_day - hours_part - minutes_part);
  auto fraction = (in_day - hours_part - minutes_part - seconds_part).count();

  std::string out(27, '\0'); // YYYY-MM-DDTHH:MM:SS.ffffffZ
  put_digits(&out[0], static_cast<unsigned>(static_cast<int>(date.year())), 4);
  out[4] = '-';
  put_digits(&out[5], static_cast<unsigned>(date.month()), 2);
  out[7] = '-';
  put_digits(&out[8], static_cast<unsigned>(date.day()), 2);
  out[10] = 'T';
  put_digits(&out[11], static_cast<unsigned>(hours_part.count()), 2);
  out[13] = ':';
  put_digits(&out[14], static_cast<unsigned>(minutes_part.count()), 2);
  out[16] = ':';
  put_digits(&out[17], static_cast<unsigned>(seconds_part.count()), 2);
  out[19] = '.';
  put_digits(&out[20], static_cast<unsigned>(fraction), 6);
  out[26] = 'Z';
  return out;
}

Result<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view text) {
  using namespace std::chrono;
  auto invalid = [&] {
    return fail(Errc::invalid_argument, "not an RFC 3339 date-time: \"" +
                                            std::string(text.substr(0, 64)) + "\"");
  };
  int year_value = 0, month_value = 0, day_value = 0, hour = 0, minute = 0, second = 0;
  if (!read_digits(text, 0, 4, year_value) || text.size() < 20 || text[4] != '-' ||
      !read_digits(text, 5, 2, month_value) || text[7] != '-' ||
      !read_digits(text, 8, 2, day_value) || (text[10] != 'T' && text[10] != 't') ||
      !read_digits(text, 11, 2, hour) || text[13] != ':' || !read_digits(text, 14, 2, minute) ||
      text[16] != ':' || !read_digits(text, 17, 2, second)) {
    return invalid();
  }
  year_month_day date{std::chrono::year(year_value), std::chrono::month(static_cast<unsigned>(month_value)),
                      std::chrono::day(static_cast<unsigned>(day_value))};
  if (!date.ok() || hour > 23 || minute > 59 || second > 59) return invalid();

  std::size_t pos = 19;
  nanoseconds fraction{0};
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    std::size_t digits = 0;
    std::int64_t value = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (++digits > 9) return invalid();
      value = value * 10 + (text[pos] - '0');
      ++pos;
    }
    if (digits == 0) return invalid();
    for (std::size_t i = digits; i < 9; ++i) value *= 10;
    fraction = nanoseconds(value);
  }

  minutes offset{0};
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    int offset_hours = 0, offset_minutes = 0;
    bool negative = text[pos] == '-';
    if (!read_digits(text, pos + 1, 2, offset_hours) || pos + 3 >= text.size() ||
        text[pos + 3] != ':' || !read_digits(text, pos + 4, 2, offset_minutes) ||
        offset_hours > 23 || offset_minutes > 59) {
      return invalid();
    }
    offset = hours(offset_hours) + minutes(offset_minutes);
    if (negative) offset = -offset;
    pos += 6;
  } else {
    return invalid();
  }
  if (pos != text.size()) return invalid();

  // Whole seconds first: years 0000..9999 fit in seconds, not in system_clock's nanoseconds.
  const sys_seconds instant = sys_days(date) + hours(hour) + minutes(minute) + seconds(second) - offset;
  const auto earliest = floor<seconds>(system_clock::time_point::min()) + seconds(1);
  const auto latest = floor<seconds>(system_clock::time_point::max()) - seconds(1);
  if (instant < earliest || instant > latest) return invalid();
  return time_point_cast<system_clock::duration>(instant) + duration_cast<system_clock::duration>(fraction);
}

} // namespace cordon

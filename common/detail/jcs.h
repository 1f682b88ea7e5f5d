#pragma once

#include <array>
#include <charconv>
#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>

#include "common/utf8.h"

// RFC 8785 (JCS) building blocks shared by the two canonical writers: append_canonical_json over
// nlohmann documents (common/json.cpp) and append_canonical over JsonDocument values
// (common/json_document.cpp). One copy, so that the two cannot drift apart byte by byte.
// Inline because the writers call them for every string and number. They write to an `Output`
// with std::string's push_back(char), append(std::string_view), append(const char*, size) and
// append(count, char): a std::string, or a RawOutput.
namespace cordon::detail {

// Writes into memory the caller has made room for; see the max_*_bytes bounds below.
struct RawOutput {
  char* cursor;

  void push_back(char c) { *cursor++ = c; }
  void append(const char* data, std::size_t size) {
    std::memcpy(cursor, data, size);
    cursor += size;
  }
  void append(std::string_view text) { append(text.data(), text.size()); }
  void append(std::size_t count, char c) {
    std::memset(cursor, c, count);
    cursor += count;
  }
};

// The most bytes append_string writes for `text_bytes` bytes of text (each may become \u00xx),
// and that append_integer or append_double write.
constexpr std::size_t max_string_bytes(std::size_t text_bytes) { return 6 * text_bytes + 2; }
inline constexpr std::size_t max_number_bytes = 32;

// True when a key holds a character whose UTF-8 byte order may differ from its UTF-16 code unit
// order: only U+E000..U+FFFF (lead byte 0xEE, 0xEF) and above U+FFFF (0xF0..0xF4) sort
// differently, so an object whose keys have no byte >= 0xEE sorts the same either way.
inline bool sorts_differently_in_utf16(std::string_view key) {
  for (const char c : key) {
    if (static_cast<unsigned char>(c) >= 0xee) return true;
  }
  return false;
}

// The first UTF-16 code unit of a code point.
inline char32_t first_utf16_unit(char32_t code_point) {
  return code_point >= 0x10000 ? 0xd800 + ((code_point - 0x10000) >> 10) : code_point;
}

// Orders strings by their UTF-16 code units (RFC 8785 §3.2.3).
inline bool utf16_less(std::string_view a, std::string_view b) {
  std::size_t i = 0;
  std::size_t j = 0;
  while (i < a.size() && j < b.size()) {
    const char32_t x = utf8_decode_lenient(a, i);
    const char32_t y = utf8_decode_lenient(b, j);
    if (x == y) continue;
    const char32_t x_unit = first_utf16_unit(x);
    const char32_t y_unit = first_utf16_unit(y);
    // Equal first units mean two supplementary characters, whose code point order is their
    // UTF-16 order.
    return x_unit != y_unit ? x_unit < y_unit : x < y;
  }
  return i == a.size() && j < b.size();
}

enum class InvalidUtf8 { refuse, replace };

// Appends `text` as a JCS string literal. Returns false, having appended part of it, when the
// text is not UTF-8 and the policy is `refuse`; `replace` writes U+FFFD per ill-formed byte.
template <class Output>
bool append_string(Output& out, std::string_view text, InvalidUtf8 policy) {
  static constexpr std::string_view hex_digits = "0123456789abcdef";
  out.push_back('"');
  std::size_t run_start = 0;
  std::size_t i = 0;
  const auto flush_run = [&] { out.append(text.data() + run_start, i - run_start); };
  while (i < text.size()) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte >= 0x20 && byte < 0x80 && byte != '"' && byte != '\\') {
      ++i;
      continue;
    }
    if (byte >= 0x80) {
      const std::size_t length = utf8_sequence_length(text, i);
      if (length != 0) {
        i += length;
        continue;
      }
      if (policy == InvalidUtf8::refuse) return false;
      flush_run();
      out.append("\xef\xbf\xbd");
    } else {
      flush_run();
      switch (byte) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\b': out.append("\\b"); break;
      case '\f': out.append("\\f"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      default:
        out.append("\\u00");
        out.push_back(hex_digits[byte >> 4]);
        out.push_back(hex_digits[byte & 0x0f]);
      }
    }
    run_start = ++i;
  }
  flush_run();
  out.push_back('"');
  return true;
}

template <class Output, class Integer>
void append_integer(Output& out, Integer value) {
  std::array<char, 24> buffer{};
  const auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  out.append(buffer.data(), static_cast<std::size_t>(result.ptr - buffer.data()));
}

// ECMAScript Number::toString (ECMA-262 §6.1.6.1.20) for a finite value, as RFC 8785 §3.2.2.3
// requires. std::to_chars gives the shortest digits that round-trip, nearest to the value,
// which is exactly the digit string ECMAScript specifies; only the layout differs.
template <class Output>
void append_double(Output& out, double value) {
  if (value == 0) { // +0 and -0 both print as "0"
    out.push_back('0');
    return;
  }
  if (value < 0) {
    out.push_back('-');
    value = -value;
  }
  std::array<char, 32> buffer{};
  const auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value,
                                    std::chars_format::scientific);
  const std::string_view scientific(buffer.data(),
                                    static_cast<std::size_t>(result.ptr - buffer.data()));
  const std::size_t e_position = scientific.find('e');

  std::array<char, 20> digits{};
  int k = 0; // digit count
  for (const char c : scientific.substr(0, e_position)) {
    if (c != '.') digits[static_cast<std::size_t>(k++)] = c;
  }
  const std::string_view exponent_text = scientific.substr(e_position + 2);
  int exponent = 0;
  std::from_chars(exponent_text.data(), exponent_text.data() + exponent_text.size(), exponent);
  if (scientific[e_position + 1] == '-') exponent = -exponent;
  const int n = exponent + 1; // value = digits × 10^(n−k)
  const auto digit_range = [&](int from, int to) {
    out.append(digits.data() + from, static_cast<std::size_t>(to - from));
  };

  if (k <= n && n <= 21) {
    digit_range(0, k);
    out.append(static_cast<std::size_t>(n - k), '0');
  } else if (0 < n && n <= 21) {
    digit_range(0, n);
    out.push_back('.');
    digit_range(n, k);
  } else if (-6 < n && n <= 0) {
    out.append("0.");
    out.append(static_cast<std::size_t>(-n), '0');
    digit_range(0, k);
  } else {
    digit_range(0, 1);
    if (k > 1) {
      out.push_back('.');
      digit_range(1, k);
    }
    out.push_back('e');
    out.push_back(n - 1 < 0 ? '-' : '+');
    append_integer(out, n - 1 < 0 ? 1 - n : n - 1);
  }
}

// Key names from untrusted input appear in error messages quoted, escaped and cut to this many
// bytes, so a hostile key can neither flood a log nor inject control characters into it.
inline constexpr std::size_t max_quoted_name_bytes = 64;

inline std::string quoted_name(std::string_view name) {
  std::string out;
  const bool cut = name.size() > max_quoted_name_bytes;
  append_string(out, cut ? utf8_prefix(name, max_quoted_name_bytes) : name, InvalidUtf8::replace);
  if (cut) out += "...";
  return out;
}

} // namespace cordon::detail

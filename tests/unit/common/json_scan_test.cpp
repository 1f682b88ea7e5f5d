#include <catch2/catch.hpp>

#include <string>

#include "common/detail/json_scan.h"

using cordon::detail::skip_plain_string_bytes;

namespace {

// The definition, one byte at a time.
std::size_t naive_skip(std::string_view text, std::size_t at) {
  for (; at < text.size(); ++at) {
    const auto c = static_cast<unsigned char>(text[at]);
    if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\') return at;
  }
  return at;
}

} // namespace

TEST_CASE("skipping plain string bytes stops at the first byte that needs attention, wherever it is") {
  // Every byte value that needs attention and a few that do not, at every position of texts
  // that cover the 16- and 8-byte steps and the byte-wise rest, from every start.
  std::string specials = "\"\\";
  for (int c = 0; c < 0x20; ++c) specials.push_back(static_cast<char>(c));
  for (int c = 0x80; c <= 0xff; ++c) specials.push_back(static_cast<char>(c));
  const std::string plain_bytes = "a~ /!#[]{}0";
  for (std::size_t length = 0; length <= 40; ++length) {
    const std::string plain(length, 'x');
    for (std::size_t start = 0; start <= length; ++start) {
      REQUIRE(skip_plain_string_bytes(plain, start) == length);
    }
    for (std::size_t position = 0; position < length; ++position) {
      for (const char special : specials) {
        std::string text = plain;
        text[position] = special;
        for (const std::size_t start : {std::size_t{0}, position, position / 2}) {
          INFO("length " << length << ", byte 0x" << std::hex << (static_cast<unsigned>(special) & 0xff)
                         << std::dec << " at " << position << ", from " << start);
          REQUIRE(skip_plain_string_bytes(text, start) == naive_skip(text, start));
        }
      }
      for (const char ordinary : plain_bytes) {
        std::string text = plain;
        text[position] = ordinary;
        REQUIRE(skip_plain_string_bytes(text, 0) == length);
      }
    }
  }
}

#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

// UTF-8 helpers for common/json.cpp. Inline because the JSON string writer calls
// utf8_sequence_length for every non-ASCII character.
namespace cordon {

// Length (1 to 4) of the well-formed UTF-8 sequence starting at text[i], or 0 if the bytes there
// are ill-formed: overlong forms, surrogates (U+D800..U+DFFF) and code points above U+10FFFF are
// ill-formed (RFC 3629 §4, Unicode Table 3-7). Requires i < text.size().
inline std::size_t utf8_sequence_length(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t at) { return static_cast<unsigned char>(text[at]); };
  const auto continuation = [&](std::size_t at, unsigned char low = 0x80,
                                unsigned char high = 0xbf) {
    return at < text.size() && byte(at) >= low && byte(at) <= high;
  };
  const unsigned char lead = byte(i);
  if (lead < 0x80) return 1;
  if (lead < 0xc2) return 0;
  if (lead < 0xe0) return continuation(i + 1) ? 2 : 0;
  if (lead < 0xf0) {
    const unsigned char low = lead == 0xe0 ? 0xa0 : 0x80;
    const unsigned char high = lead == 0xed ? 0x9f : 0xbf;
    return continuation(i + 1, low, high) && continuation(i + 2) ? 3 : 0;
  }
  if (lead < 0xf5) {
    const unsigned char low = lead == 0xf0 ? 0x90 : 0x80;
    const unsigned char high = lead == 0xf4 ? 0x8f : 0xbf;
    return continuation(i + 1, low, high) && continuation(i + 2) && continuation(i + 3) ? 4 : 0;
  }
  return 0;
}

// Offset of the first byte that does not begin a well-formed sequence, or nullopt for UTF-8.
inline std::optional<std::size_t> utf8_first_invalid(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    if (static_cast<unsigned char>(text[i]) < 0x80) {
      ++i;
      continue;
    }
    const std::size_t length = utf8_sequence_length(text, i);
    if (length == 0) return i;
    i += length;
  }
  return std::nullopt;
}

// The longest prefix of at most `max_bytes` that does not end inside a multi-byte sequence.
inline std::string_view utf8_prefix(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  std::size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xc0) == 0x80) --cut;
  return text.substr(0, cut);
}

// Decodes the code point at text[i] and advances i past it. An ill-formed byte decodes as its
// own value and advances by one, which keeps orderings built on this total and deterministic.
inline char32_t utf8_decode_lenient(std::string_view text, std::size_t& i) {
  const std::size_t length = utf8_sequence_length(text, i);
  const auto lead = static_cast<unsigned char>(text[i]);
  if (length <= 1) {
    ++i;
    return lead;
  }
  static constexpr unsigned char lead_mask[] = {0, 0, 0x1f, 0x0f, 0x07};
  char32_t code_point = lead & lead_mask[length];
  for (std::size_t k = 1; k < length; ++k) {
    code_point = (code_point << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3f);
  }
  i += length;
  return code_point;
}

} // namespace cordon

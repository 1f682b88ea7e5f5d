#include "common/encoding.h"

#include <array>

namespace cordon {
namespace {

constexpr std::string_view hex_digits = "0123456789abcdef";
constexpr std::string_view base64_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Value of a hexadecimal digit in either case, or -1.
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Maps each byte to its base64 sextet, or -1 for bytes outside the alphabet (including '=').
constexpr std::array<std::int8_t, 256> make_base64_table() {
  std::array<std::int8_t, 256> table{};
  for (auto& entry : table) entry = -1;
  for (std::size_t i = 0; i < base64_alphabet.size(); ++i) {
    table[static_cast<unsigned char>(base64_alphabet[i])] = static_cast<std::int8_t>(i);
  }
  return table;
}
constexpr auto base64_table = make_base64_table();

int base64_value(char c) { return base64_table[static_cast<unsigned char>(c)]; }

} // namespace

std::string to_hex(std::span<const std::uint8_t> bytes) {
  std::string out(bytes.size() * 2, '\0');
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    out[2 * i] = hex_digits[bytes[i] >> 4];
    out[2 * i + 1] = hex_digits[bytes[i] & 0x0f];
  }
  return out;
}

// Accepts both letter cases; to_hex only ever writes lowercase.
Result<Bytes> from_hex(std::string_view text) {
  if (text.size() % 2 != 0) return fail(Errc::invalid_argument, "hex text has an odd length");
  Bytes out(text.size() / 2);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const int high = hex_value(text[2 * i]);
    const int low = hex_value(text[2 * i + 1]);
    if (high < 0 || low < 0) {
      return fail(Errc::invalid_argument, "hex text has a non-hex character");
    }
    out[i] = static_cast<std::uint8_t>((high << 4) | low);
  }
  return out;
}

std::string to_base64(std::span<const std::uint8_t> bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t group =
        (std::uint32_t{bytes[i]} << 16) | (std::uint32_t{bytes[i + 1]} << 8) | bytes[i + 2];
    out.push_back(base64_alphabet[(group >> 18) & 0x3f]);
    out.push_back(base64_alphabet[(group >> 12) & 0x3f]);
    out.push_back(base64_alphabet[(group >> 6) & 0x3f]);
    out.push_back(base64_alphabet[group & 0x3f]);
  }
  const std::size_t rest = bytes.size() - i;
  if (rest == 0) return out;
  std::uint32_t group = std::uint32_t{bytes[i]} << 16;
  if (rest == 2) group |= std::uint32_t{bytes[i + 1]} << 8;
  out.push_back(base64_alphabet[(group >> 18) & 0x3f]);
  out.push_back(base64_alphabet[(group >> 12) & 0x3f]);
  out.push_back(rest == 2 ? base64_alphabet[(group >> 6) & 0x3f] : '=');
  out.push_back('=');
  return out;
}

// Strict RFC 4648 §4: the length is a multiple of four, '=' appears only as one or two final
// characters, and the unused bits before the padding are zero (RFC 4648 §3.5), so every byte
// string has exactly one accepted encoding.
Result<Bytes> from_base64(std::string_view text) {
  if (text.size() % 4 != 0) {
    return fail(Errc::invalid_argument, "base64 text length is not a multiple of 4");
  }
  std::size_t padding = 0;
  if (!text.empty() && text.back() == '=') padding = text[text.size() - 2] == '=' ? 2 : 1;
  Bytes out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    const std::size_t data_chars = last ? 4 - padding : 4;
    std::uint32_t group = 0;
    for (std::size_t j = 0; j < data_chars; ++j) {
      const int value = base64_value(text[i + j]);
      if (value < 0) {
        return fail(Errc::invalid_argument, "base64 text has a character outside the alphabet");
      }
      group |= static_cast<std::uint32_t>(value) << (18 - 6 * j);
    }
    out.push_back(static_cast<std::uint8_t>(group >> 16));
    if (data_chars >= 3) out.push_back(static_cast<std::uint8_t>(group >> 8));
    if (data_chars == 4) out.push_back(static_cast<std::uint8_t>(group));
    const std::uint32_t unused_bits = data_chars == 2   ? (group & 0xffff)
                                      : data_chars == 3 ? (group & 0xff)
                                                        : 0;
    if (unused_bits != 0) {
      return fail(Errc::invalid_argument, "base64 text has non-zero padding bits");
    }
  }
  return out;
}

} // namespace cordon

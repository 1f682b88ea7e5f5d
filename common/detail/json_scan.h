#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

// The inner loop of the JSON string scanners (JsonDocument's parser and the ledger's leaf
// scanner): skipping the bytes of a string that need no attention, eight at a time.
namespace cordon::detail {

// A bit set in the high bit of each of the eight bytes at `bytes` that is a quote, a backslash,
// below 0x20 or above 0x7f. The lowest set bit is exact (the classic zero-byte test can only
// report false positives above a true one).
inline std::uint64_t string_attention_mask(const char* bytes) {
  constexpr std::uint64_t ones = 0x0101010101010101ULL;
  constexpr std::uint64_t highs = 0x8080808080808080ULL;
  std::uint64_t word;
  std::memcpy(&word, bytes, sizeof word);
  const auto zero_byte = [](std::uint64_t v) { return (v - ones) & ~v & highs; };
  const std::uint64_t quote = zero_byte(word ^ (ones * '"'));
  const std::uint64_t backslash = zero_byte(word ^ (ones * '\\'));
  const std::uint64_t control = (word - ones * 0x20) & ~word & highs;
  return quote | backslash | control | (word & highs);
}

// The position of the first byte at or after `at` that is a quote, a backslash, below 0x20 or
// above 0x7f, or text.size() if there is none.
inline std::size_t skip_plain_string_bytes(std::string_view text, std::size_t at) {
#if defined(__SSE2__)
  // Sixteen at a time: a signed compare below 0x20 catches control bytes and, as negative
  // numbers, every byte above 0x7f.
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  const __m128i space = _mm_set1_epi8(0x20);
  while (at + 16 <= text.size()) {
    const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(text.data() + at));
    const __m128i attention = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(bytes, quote), _mm_cmpeq_epi8(bytes, backslash)),
                                           _mm_cmplt_epi8(bytes, space));
    const auto mask = static_cast<unsigned>(_mm_movemask_epi8(attention));
    if (mask != 0) return at + static_cast<std::size_t>(__builtin_ctz(mask));
    at += 16;
  }
#endif
  while (at + 8 <= text.size()) {
    const std::uint64_t mask = string_attention_mask(text.data() + at);
    if (mask != 0) return at + static_cast<std::size_t>(__builtin_ctzll(mask)) / 8;
    at += 8;
  }
  while (at < text.size()) {
    const auto c = static_cast<unsigned char>(text[at]);
    if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\') return at;
    ++at;
  }
  return at;
}

} // namespace cordon::detail

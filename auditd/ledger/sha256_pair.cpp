#include "auditd/ledger/sha256_pair.h"

#include <algorithm>
#include <cstring>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#define CORDON_SHA_TARGET __attribute__((target("sha,sse4.1")))
#endif

namespace cordon::ledger {
namespace {

// FIPS 180-4 §4.2.2 round constants and §5.3.3 initial hash value.
alignas(16) constexpr std::uint32_t round_constants[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};
constexpr std::uint32_t initial_state[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                            0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

// The padded message prefix || body, handed out one 64-byte block at a time. Blocks wholly
// inside the body are read in place; the first (which holds the prefix) and the last one or two
// (which hold the padding and the length) are assembled in small buffers.
class PaddedMessage {
public:
  PaddedMessage(std::uint8_t prefix, std::string_view body)
      : m_body(reinterpret_cast<const unsigned char*>(body.data())) {
    const std::uint64_t length = body.size() + 1;
    m_full_blocks = static_cast<std::size_t>(length / 64);
    const std::size_t rest = static_cast<std::size_t>(length % 64);
    m_blocks = m_full_blocks + (rest + 9 > 64 ? 2 : 1);
    if (m_full_blocks > 0) {
      m_first[0] = prefix;
      std::memcpy(m_first + 1, m_body, 63);
    }
    // The tail: the message bytes after the full blocks, 0x80, zeros, the length in bits.
    std::memset(m_tail, 0, sizeof m_tail);
    const std::size_t tail_start = m_full_blocks * 64; // offset in prefix || body
    for (std::size_t i = 0; i < rest; ++i) {
      const std::size_t at = tail_start + i;
      m_tail[i] = at == 0 ? prefix : m_body[at - 1];
    }
    m_tail[rest] = 0x80;
    const std::size_t tail_bytes = (m_blocks - m_full_blocks) * 64;
    const std::uint64_t bits = length * 8;
    for (std::size_t i = 0; i < 8; ++i) {
      m_tail[tail_bytes - 1 - i] = static_cast<unsigned char>(bits >> (8 * i));
    }
  }
  PaddedMessage(const PaddedMessage&) = delete;
  PaddedMessage& operator=(const PaddedMessage&) = delete;

  std::size_t blocks() const { return m_blocks; }
  const unsigned char* block(std::size_t k) const {
    if (k >= m_full_blocks) return m_tail + 64 * (k - m_full_blocks);
    return k == 0 ? m_first : m_body + 64 * k - 1;
  }

private:
  const unsigned char* m_body;
  std::size_t m_full_blocks = 0;
  std::size_t m_blocks = 0;
  unsigned char m_first[64];
  unsigned char m_tail[128];
};

#if defined(__x86_64__)

// Unaligned vector access (the loads and stores used are the unaligned forms, except for the
// 16-byte aligned round constants).
inline const __m128i* as_vector(const void* bytes) { return static_cast<const __m128i*>(bytes); }
inline __m128i* as_mutable_vector(void* bytes) { return static_cast<__m128i*>(bytes); }

// A SHA-256 state in the SHA extensions' layout: ABEF and CDGH.
struct State {
  __m128i abef;
  __m128i cdgh;
};

CORDON_SHA_TARGET State initial() {
  __m128i abcd = _mm_loadu_si128(as_vector(&initial_state[0]));
  __m128i efgh = _mm_loadu_si128(as_vector(&initial_state[4]));
  abcd = _mm_shuffle_epi32(abcd, 0xb1); // CDAB
  efgh = _mm_shuffle_epi32(efgh, 0x1b); // HGFE
  return State{_mm_alignr_epi8(abcd, efgh, 8), _mm_blend_epi16(efgh, abcd, 0xf0)};
}

CORDON_SHA_TARGET void store(const State& state, std::array<std::uint8_t, 32>& out) {
  const __m128i feba = _mm_shuffle_epi32(state.abef, 0x1b);
  const __m128i dchg = _mm_shuffle_epi32(state.cdgh, 0xb1);
  const __m128i dcba = _mm_blend_epi16(feba, dchg, 0xf0);
  const __m128i hgfe = _mm_alignr_epi8(dchg, feba, 8);
  // Words A..H, each big-endian.
  const __m128i swap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
  _mm_storeu_si128(as_mutable_vector(out.data()), _mm_shuffle_epi8(dcba, swap));
  _mm_storeu_si128(as_mutable_vector(out.data() + 16), _mm_shuffle_epi8(hgfe, swap));
}

CORDON_SHA_TARGET inline __m128i load_words(const unsigned char* bytes) {
  const __m128i swap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
  return _mm_shuffle_epi8(_mm_loadu_si128(as_vector(bytes)), swap);
}

// W[4i..4i+3] from the four groups before it (FIPS 180-4 §6.2.2 step 1).
CORDON_SHA_TARGET inline __m128i schedule(__m128i minus4, __m128i minus3, __m128i minus2, __m128i minus1) {
  const __m128i partial = _mm_add_epi32(_mm_sha256msg1_epu32(minus4, minus3), _mm_alignr_epi8(minus1, minus2, 4));
  return _mm_sha256msg2_epu32(partial, minus1);
}

// Four rounds with the words `w` of group `group`.
CORDON_SHA_TARGET inline void rounds(State& state, __m128i w, int group) {
  __m128i message = _mm_add_epi32(w, _mm_load_si128(as_vector(&round_constants[4 * group])));
  state.cdgh = _mm_sha256rnds2_epu32(state.cdgh, state.abef, message);
  message = _mm_shuffle_epi32(message, 0x0e);
  state.abef = _mm_sha256rnds2_epu32(state.abef, state.cdgh, message);
}

// One block into one state.
CORDON_SHA_TARGET void compress(State& state, const unsigned char* block) {
  const State saved = state;
  __m128i w0 = load_words(block);
  __m128i w1 = load_words(block + 16);
  __m128i w2 = load_words(block + 32);
  __m128i w3 = load_words(block + 48);
  rounds(state, w0, 0);
  rounds(state, w1, 1);
  rounds(state, w2, 2);
  rounds(state, w3, 3);
  for (int group = 4; group < 16; group += 4) {
    w0 = schedule(w0, w1, w2, w3);
    rounds(state, w0, group);
    w1 = schedule(w1, w2, w3, w0);
    rounds(state, w1, group + 1);
    w2 = schedule(w2, w3, w0, w1);
    rounds(state, w2, group + 2);
    w3 = schedule(w3, w0, w1, w2);
    rounds(state, w3, group + 3);
  }
  state.abef = _mm_add_epi32(state.abef, saved.abef);
  state.cdgh = _mm_add_epi32(state.cdgh, saved.cdgh);
}

// One block into each of two states, the two streams interleaved instruction by instruction.
CORDON_SHA_TARGET void compress_two(State& a, const unsigned char* block_a, State& b,
                                    const unsigned char* block_b) {
  const State saved_a = a;
  const State saved_b = b;
  __m128i a0 = load_words(block_a), b0 = load_words(block_b);
  __m128i a1 = load_words(block_a + 16), b1 = load_words(block_b + 16);
  __m128i a2 = load_words(block_a + 32), b2 = load_words(block_b + 32);
  __m128i a3 = load_words(block_a + 48), b3 = load_words(block_b + 48);
  rounds(a, a0, 0);
  rounds(b, b0, 0);
  rounds(a, a1, 1);
  rounds(b, b1, 1);
  rounds(a, a2, 2);
  rounds(b, b2, 2);
  rounds(a, a3, 3);
  rounds(b, b3, 3);
  for (int group = 4; group < 16; group += 4) {
    a0 = schedule(a0, a1, a2, a3);
    b0 = schedule(b0, b1, b2, b3);
    rounds(a, a0, group);
    rounds(b, b0, group);
    a1 = schedule(a1, a2, a3, a0);
    b1 = schedule(b1, b2, b3, b0);
    rounds(a, a1, group + 1);
    rounds(b, b1, group + 1);
    a2 = schedule(a2, a3, a0, a1);
    b2 = schedule(b2, b3, b0, b1);
    rounds(a, a2, group + 2);
    rounds(b, b2, group + 2);
    a3 = schedule(a3, a0, a1, a2);
    b3 = schedule(b3, b0, b1, b2);
    rounds(a, a3, group + 3);
    rounds(b, b3, group + 3);
  }
  a.abef = _mm_add_epi32(a.abef, saved_a.abef);
  a.cdgh = _mm_add_epi32(a.cdgh, saved_a.cdgh);
  b.abef = _mm_add_epi32(b.abef, saved_b.abef);
  b.cdgh = _mm_add_epi32(b.cdgh, saved_b.cdgh);
}

bool detect() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid(1, &eax, &ebx, &ecx, &edx) == 0) return false;
  const bool sse41 = (ecx & bit_SSE4_1) != 0;
  if (__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) == 0) return false;
  const bool sha = (ebx & (1u << 29)) != 0;
  return sse41 && sha;
}

#endif

} // namespace

bool Sha256Pair::available() {
#if defined(__x86_64__)
  static const bool present = detect();
  return present;
#else
  return false;
#endif
}

void Sha256Pair::hash(std::uint8_t prefix, std::string_view a, std::string_view b, Digest& first,
                      Digest& second) {
#if defined(__x86_64__)
  const PaddedMessage message_a(prefix, a);
  const PaddedMessage message_b(prefix, b);
  State state_a = initial();
  State state_b = initial();
  const std::size_t both = std::min(message_a.blocks(), message_b.blocks());
  for (std::size_t k = 0; k < both; ++k) {
    compress_two(state_a, message_a.block(k), state_b, message_b.block(k));
  }
  for (std::size_t k = both; k < message_a.blocks(); ++k) compress(state_a, message_a.block(k));
  for (std::size_t k = both; k < message_b.blocks(); ++k) compress(state_b, message_b.block(k));
  store(state_a, first);
  store(state_b, second);
#else
  (void)prefix;
  (void)a;
  (void)b;
  (void)first;
  (void)second;
#endif
}

} // namespace cordon::ledger

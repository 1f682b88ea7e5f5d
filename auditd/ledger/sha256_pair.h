#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace cordon::ledger {

// Two SHA-256 computations run side by side with the x86 SHA extensions. One SHA-256 stream is
// bound by the latency of the round instruction, so a second, independent stream fills the idle
// issue slots and nearly doubles the throughput of bulk leaf hashing (ledger verification, the
// ledger's open). The digests are plain SHA-256; tests compare them with OpenSSL's.
class Sha256Pair {
public:
  using Digest = std::array<std::uint8_t, 32>;

  // True if this CPU has the SHA extensions (and SSE4.1). When false, hash() must not be called;
  // callers fall back to two ordinary hashes.
  static bool available();

  // first = SHA-256(prefix || a), second = SHA-256(prefix || b): the RFC 6962 leaf hash with
  // prefix 0x00, the node hash with prefix 0x01 and a, b each a 64-byte left||right.
  static void hash(std::uint8_t prefix, std::string_view a, std::string_view b, Digest& first,
                   Digest& second);
};

} // namespace cordon::ledger

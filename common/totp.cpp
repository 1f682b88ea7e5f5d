#include "common/totp.h"

#include <cctype>

#include "common/crypto.h"

namespace cordon::totp {
namespace {

constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

} // namespace

std::string hotp(std::span<const std::uint8_t> secret, std::uint64_t counter, int digits) {
  std::uint8_t message[8];
  for (int i = 7; i >= 0; --i, counter >>= 8) message[i] = static_cast<std::uint8_t>(counter & 0xff);
  const auto mac = crypto::hmac_sha1(secret, message);
  const unsigned offset = mac[19] & 0x0f;
  const std::uint32_t binary = (static_cast<std::uint32_t>(mac[offset] & 0x7f) << 24) |
                               (static_cast<std::uint32_t>(mac[offset + 1]) << 16) |
                               (static_cast<std::uint32_t>(mac[offset + 2]) << 8) | mac[offset + 3];
  std::uint32_t modulus = 1;
  for (int i = 0; i < digits; ++i) modulus *= 10;
  std::string code = std::to_string(binary % modulus);
  return std::string(static_cast<std::size_t>(digits) - code.size(), '0') + code;
}

std::uint64_t step_at(std::chrono::system_clock::time_point time) {
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(time.time_since_epoch()).count();
  return seconds < 0 ? 0 : static_cast<std::uint64_t>(seconds) / static_cast<std::uint64_t>(step_length.count());
}

std::optional<std::uint64_t> matching_step(std::span<const std::uint8_t> secret, std::string_view code,
                                           std::chrono::system_clock::time_point now, int window) {
  if (code.size() != 6) return std::nullopt;
  for (char c : code)
    if (c < '0' || c > '9') return std::nullopt;
  const std::uint64_t current = step_at(now);
  std::optional<std::uint64_t> found;
  for (int delta = -window; delta <= window; ++delta) {
    if (delta < 0 && current < static_cast<std::uint64_t>(-delta)) continue;
    const std::uint64_t step = current + static_cast<std::uint64_t>(static_cast<std::int64_t>(delta));
    const std::string expected = hotp(secret, step);
    // Every step is computed and compared, so timing does not tell which one matched.
    if (crypto::equal_constant_time(as_bytes(expected), as_bytes(code)) && !found) found = step;
  }
  return found;
}

Result<Bytes> base32_decode(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  Bytes out;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    const auto position = alphabet.find(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
    if (position == std::string_view::npos) return fail(Errc::invalid_argument, "a base32 secret holds only A-Z and 2-7");
    buffer = (buffer << 5) | static_cast<std::uint32_t>(position);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<std::uint8_t>((buffer >> bits) & 0xff));
    }
  }
  if (text.empty()) return fail(Errc::invalid_argument, "the base32 secret is empty");
  return out;
}

std::string base32_encode(std::span<const std::uint8_t> bytes) {
  std::string out;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (std::uint8_t byte : bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out.push_back(alphabet[(buffer >> bits) & 0x1f]);
    }
  }
  if (bits > 0) out.push_back(alphabet[(buffer << (5 - bits)) & 0x1f]);
  return out;
}

} // namespace cordon::totp

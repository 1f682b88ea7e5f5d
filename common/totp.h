#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/encoding.h"
#include "common/error.h"

// Time-based one-time passwords as authenticator apps compute them: RFC 6238 TOTP over RFC 4226
// HOTP with HMAC-SHA1, 6 digits, 30-second steps. The second factor of an approval (DESIGN.md
// §5.4).
namespace cordon::totp {

inline constexpr std::chrono::seconds step_length{30};

// The RFC 4226 HOTP code for `counter`: `digits` (6..8) decimal digits.
std::string hotp(std::span<const std::uint8_t> secret, std::uint64_t counter, int digits = 6);

// The time step a moment falls in: floor(unix seconds / 30).
std::uint64_t step_at(std::chrono::system_clock::time_point time);

// The step within ±`window` of `now` whose code is `code` (6 ASCII digits), compared in
// constant time; nullopt if none. The caller keeps the last step it accepted per secret and
// refuses a step at or before it: a code is good once.
std::optional<std::uint64_t> matching_step(std::span<const std::uint8_t> secret, std::string_view code,
                                           std::chrono::system_clock::time_point now, int window = 1);

// RFC 4648 base32, the form authenticator apps take secrets in ("JBSWY3DPEHPK3PXP"): upper or
// lower case, '=' padding optional, no other characters. Errc::invalid_argument otherwise.
Result<Bytes> base32_decode(std::string_view text);
std::string base32_encode(std::span<const std::uint8_t> bytes); // upper case, no padding

} // namespace cordon::totp

// RFC 4226 and RFC 6238 test vectors, and the window and replay contract.
#include <catch2/catch.hpp>

#include "common/clock.h"
#include "common/totp.h"

using namespace cordon;

namespace {
const std::string rfc_secret = "12345678901234567890"; // RFC 4226 Appendix D, RFC 6238 Appendix B (SHA-1)
std::chrono::system_clock::time_point at(std::int64_t unix_seconds) {
  return std::chrono::system_clock::time_point(std::chrono::seconds(unix_seconds));
}
} // namespace

TEST_CASE("HOTP matches RFC 4226 Appendix D") {
  const char* expected[] = {"755224", "287082", "359152", "969429", "338314",
                            "254676", "287922", "162583", "399871", "520489"};
  for (std::uint64_t counter = 0; counter < 10; ++counter)
    CHECK(totp::hotp(as_bytes(rfc_secret), counter) == expected[counter]);
}

TEST_CASE("TOTP matches RFC 6238 Appendix B for SHA-1 (8 digits)") {
  const std::pair<std::int64_t, const char*> vectors[] = {{59, "94287082"},         {1111111109, "07081804"},
                                                          {1111111111, "14050471"}, {1234567890, "89005924"},
                                                          {2000000000, "69279037"}};
  for (const auto& [time, code] : vectors) CHECK(totp::hotp(as_bytes(rfc_secret), totp::step_at(at(time)), 8) == code);
  // T = 20000000000 s is past what system_clock holds in nanoseconds; its step directly.
  CHECK(totp::hotp(as_bytes(rfc_secret), 20000000000 / 30, 8) == "65353130");
}

TEST_CASE("a code matches within one step either side and names its step") {
  const auto now = at(1111111111);
  const auto step = totp::step_at(now);
  const auto code = [&](std::uint64_t s) { return totp::hotp(as_bytes(rfc_secret), s); };
  CHECK(totp::matching_step(as_bytes(rfc_secret), code(step), now) == step);
  CHECK(totp::matching_step(as_bytes(rfc_secret), code(step - 1), now) == step - 1);
  CHECK(totp::matching_step(as_bytes(rfc_secret), code(step + 1), now) == step + 1);
  CHECK_FALSE(totp::matching_step(as_bytes(rfc_secret), code(step - 2), now));
  CHECK_FALSE(totp::matching_step(as_bytes(rfc_secret), code(step + 2), now));
}

TEST_CASE("malformed codes never match") {
  const auto now = at(1111111111);
  for (const char* code : {"", "12345", "1234567", "12a456", " 12345"}) CHECK_FALSE(totp::matching_step(as_bytes(rfc_secret), code, now));
}

TEST_CASE("base32 round-trips and decodes authenticator-style secrets") {
  CHECK(totp::base32_encode(as_bytes(rfc_secret)) == "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
  const auto decoded = totp::base32_decode("gezdgnbvgy3tqojqgezdgnbvgy3tqojq").value();
  CHECK(std::string(decoded.begin(), decoded.end()) == rfc_secret);
  CHECK(totp::base32_decode("MZXW6===").value() == Bytes{'f', 'o', 'o'});
  CHECK(totp::base32_decode("MZXW6!").error().code == Errc::invalid_argument);
  CHECK(totp::base32_decode("").error().code == Errc::invalid_argument);
}

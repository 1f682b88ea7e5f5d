#include <catch2/catch.hpp>

#include "common/encoding.h"

using cordon::Bytes;
using cordon::Errc;

namespace {

Bytes bytes_of(std::string_view text) {
  const auto view = cordon::as_bytes(text);
  return Bytes(view.begin(), view.end());
}

} // namespace

TEST_CASE("to_hex writes two lowercase digits per byte") {
  CHECK(cordon::to_hex(Bytes{0x00, 0x0f, 0xab, 0xff}) == "000fabff");
  CHECK(cordon::to_hex(Bytes{}).empty());
}

TEST_CASE("from_hex reads either letter case") {
  CHECK(cordon::from_hex("000fabff").value() == Bytes{0x00, 0x0f, 0xab, 0xff});
  CHECK(cordon::from_hex("ABff").value() == Bytes{0xab, 0xff});
  CHECK(cordon::from_hex("").value().empty());
}

TEST_CASE("from_hex refuses odd lengths and non-hex characters") {
  for (const std::string_view text : {"abc", "0g", "0x00", " 00", "00 ", "-1"}) {
    INFO(text);
    const auto decoded = cordon::from_hex(text);
    REQUIRE_FALSE(decoded);
    CHECK(decoded.error().code == Errc::invalid_argument);
  }
}

// RFC 4648 §10.
TEST_CASE("base64 encodes the RFC 4648 test vectors") {
  CHECK(cordon::to_base64(bytes_of("")) == "");
  CHECK(cordon::to_base64(bytes_of("f")) == "Zg==");
  CHECK(cordon::to_base64(bytes_of("fo")) == "Zm8=");
  CHECK(cordon::to_base64(bytes_of("foo")) == "Zm9v");
  CHECK(cordon::to_base64(bytes_of("foob")) == "Zm9vYg==");
  CHECK(cordon::to_base64(bytes_of("fooba")) == "Zm9vYmE=");
  CHECK(cordon::to_base64(bytes_of("foobar")) == "Zm9vYmFy");
}

TEST_CASE("base64 decodes the RFC 4648 test vectors") {
  CHECK(cordon::from_base64("").value() == bytes_of(""));
  CHECK(cordon::from_base64("Zg==").value() == bytes_of("f"));
  CHECK(cordon::from_base64("Zm8=").value() == bytes_of("fo"));
  CHECK(cordon::from_base64("Zm9v").value() == bytes_of("foo"));
  CHECK(cordon::from_base64("Zm9vYg==").value() == bytes_of("foob"));
  CHECK(cordon::from_base64("Zm9vYmE=").value() == bytes_of("fooba"));
  CHECK(cordon::from_base64("Zm9vYmFy").value() == bytes_of("foobar"));
}

TEST_CASE("base64 uses the standard alphabet with + and /") {
  CHECK(cordon::to_base64(Bytes{0xfb, 0xff}) == "+/8=");
  CHECK(cordon::from_base64("+/8=").value() == Bytes{0xfb, 0xff});
}

TEST_CASE("base64 round-trips every byte value") {
  Bytes all(256);
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = static_cast<std::uint8_t>(i);
  for (std::size_t length = 0; length <= all.size(); length += 37) {
    const Bytes prefix(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(length));
    CHECK(cordon::from_base64(cordon::to_base64(prefix)).value() == prefix);
  }
}

TEST_CASE("base64 decoding refuses missing padding") {
  for (const std::string_view text : {"Zg", "Zg=", "Zm8", "Zm9vYg"}) {
    INFO(text);
    CHECK_FALSE(cordon::from_base64(text));
  }
}

TEST_CASE("base64 decoding refuses whitespace and characters outside the alphabet") {
  for (const std::string_view text : std::initializer_list<std::string_view>{
           "Zm9v\n", " Zm9v", "Zm 9v", "Zm9-", "Zm9_", "Zm9v\r\nYmFy", {"Zm9\0", 4}}) {
    INFO(text);
    const auto decoded = cordon::from_base64(text);
    REQUIRE_FALSE(decoded);
    CHECK(decoded.error().code == Errc::invalid_argument);
  }
}

TEST_CASE("base64 decoding refuses padding anywhere but the end") {
  for (const std::string_view text : {"Zg==Zm9v", "Z===", "====", "Zm=v", "=Zm9"}) {
    INFO(text);
    CHECK_FALSE(cordon::from_base64(text));
  }
}

// RFC 4648 §3.5: "Zh==" and "Zm9=" would decode to "f" and "fo" if the unused bits were ignored;
// accepting them would give one value two encodings.
TEST_CASE("base64 decoding refuses non-zero bits under the padding") {
  CHECK_FALSE(cordon::from_base64("Zh=="));
  CHECK_FALSE(cordon::from_base64("Zm9="));
}

#include <catch2/catch.hpp>

#include <bit>
#include <cstdint>
#include <limits>
#include <string>

#include "common/json.h"

using cordon::Errc;
using cordon::Json;

namespace {

std::string canonical(std::string_view json_text) {
  return cordon::canonical_json(cordon::parse_json(json_text).value()).value();
}

std::string canonical_double(std::uint64_t bits) {
  return cordon::canonical_json(Json(std::bit_cast<double>(bits))).value();
}

} // namespace

// RFC 8785 §3.2.2: the example covering literals, numbers and string escaping.
TEST_CASE("the RFC 8785 primitive-types example canonicalises exactly") {
  const std::string input = R"({
    "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
    "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
    "literals": [null, true, false]
  })";
  CHECK(canonical(input) ==
        R"({"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],)"
        R"("string":")" "\xe2\x82\xac" R"($\u000f\nA'B\"\\\\\"/"})");
}

// RFC 8785 §3.2.3: UTF-16 order puts U+1F600 (D83D DE00) before U+FB33, unlike UTF-8 order.
TEST_CASE("the RFC 8785 sorting example orders keys by UTF-16 code units") {
  const std::string input = R"({
    "\u20ac": "Euro Sign",
    "\r": "Carriage Return",
    "\ufb33": "Hebrew Letter Dalet With Dagesh",
    "1": "One",
    "\ud83d\ude00": "Emoji: Grinning Face",
    "\u0080": "Control",
    "\u00f6": "Latin Small Letter O With Diaeresis"
  })";
  CHECK(canonical(input) == "{"
                            R"("\r":"Carriage Return",)"
                            R"("1":"One",)"
                            "\"\xc2\x80\":\"Control\","
                            "\"\xc3\xb6\":\"Latin Small Letter O With Diaeresis\","
                            "\"\xe2\x82\xac\":\"Euro Sign\","
                            "\"\xf0\x9f\x98\x80\":\"Emoji: Grinning Face\","
                            "\"\xef\xac\xb3\":\"Hebrew Letter Dalet With Dagesh\""
                            "}");
}

TEST_CASE("ASCII keys sort bytewise with a prefix before its extensions") {
  CHECK(canonical(R"({"b":1,"ab":2,"a":3,"B":4,"":5})") == R"({"":5,"B":4,"a":3,"ab":2,"b":1})");
}

TEST_CASE("nested objects are sorted and all insignificant whitespace is dropped") {
  CHECK(canonical(" { \"b\" : [ 1 , { \"d\" : 2 , \"c\" : 3 } ] ,\n\t\"a\" : \"\" , \"e\":{} } ") ==
        R"({"a":"","b":[1,{"c":3,"d":2}],"e":{}})");
}

// RFC 8785 Appendix B, IEEE 754 bit patterns and their required text.
TEST_CASE("doubles are written as in the RFC 8785 Appendix B table") {
  CHECK(canonical_double(0x0000000000000000) == "0");
  CHECK(canonical_double(0x8000000000000000) == "0");
  CHECK(canonical_double(0x0000000000000001) == "5e-324");
  CHECK(canonical_double(0x8000000000000001) == "-5e-324");
  CHECK(canonical_double(0x7fefffffffffffff) == "1.7976931348623157e+308");
  CHECK(canonical_double(0xffefffffffffffff) == "-1.7976931348623157e+308");
  CHECK(canonical_double(0x4340000000000000) == "9007199254740992");
  CHECK(canonical_double(0xc340000000000000) == "-9007199254740992");
  CHECK(canonical_double(0x4430000000000000) == "295147905179352830000");
  CHECK(canonical_double(0x44b52d02c7e14af5) == "9.999999999999997e+22");
  CHECK(canonical_double(0x44b52d02c7e14af6) == "1e+23");
  CHECK(canonical_double(0x44b52d02c7e14af7) == "1.0000000000000001e+23");
  CHECK(canonical_double(0x444b1ae4d6e2ef4e) == "999999999999999700000");
  CHECK(canonical_double(0x444b1ae4d6e2ef4f) == "999999999999999900000");
  CHECK(canonical_double(0x444b1ae4d6e2ef50) == "1e+21");
  CHECK(canonical_double(0x3eb0c6f7a0b5ed8c) == "9.999999999999997e-7");
  CHECK(canonical_double(0x3eb0c6f7a0b5ed8d) == "0.000001");
  CHECK(canonical_double(0x41b3de4355555553) == "333333333.3333332");
  CHECK(canonical_double(0x41b3de4355555554) == "333333333.33333325");
  CHECK(canonical_double(0x41b3de4355555555) == "333333333.3333333");
  CHECK(canonical_double(0x41b3de4355555556) == "333333333.3333334");
  CHECK(canonical_double(0x41b3de4355555557) == "333333333.33333343");
  CHECK(canonical_double(0xbecbf647612f3696) == "-0.0000033333333333333333");
  CHECK(canonical_double(0x43143ff3c1cb0959) == "1424953923781206.2");
}

TEST_CASE("doubles switch to exponent form at 1e21 and 1e-7") {
  CHECK(cordon::canonical_json(Json(1e20)).value() == "100000000000000000000");
  CHECK(cordon::canonical_json(Json(1e21)).value() == "1e+21");
  CHECK(cordon::canonical_json(Json(1e-6)).value() == "0.000001");
  CHECK(cordon::canonical_json(Json(1e-7)).value() == "1e-7");
  CHECK(cordon::canonical_json(Json(1.5e-7)).value() == "1.5e-7");
  CHECK(cordon::canonical_json(Json(-2.5e300)).value() == "-2.5e+300");
}

TEST_CASE("integral doubles are written without a fraction") {
  CHECK(cordon::canonical_json(Json(1.0)).value() == "1");
  CHECK(cordon::canonical_json(Json(-0.0)).value() == "0");
  CHECK(canonical("[1.0, -0.0, 10.50, 1E2]") == "[1,0,10.5,100]");
}

TEST_CASE("NaN and infinity are refused") {
  for (const double value : {std::numeric_limits<double>::quiet_NaN(),
                             std::numeric_limits<double>::infinity(),
                             -std::numeric_limits<double>::infinity()}) {
    const auto text = cordon::canonical_json(Json::array({1, value}));
    REQUIRE_FALSE(text);
    CHECK(text.error().code == Errc::invalid_argument);
  }
}

TEST_CASE("integers are written exactly, including beyond 2^53") {
  CHECK(cordon::canonical_json(Json(std::int64_t{0})).value() == "0");
  CHECK(cordon::canonical_json(Json(std::int64_t{-42})).value() == "-42");
  CHECK(cordon::canonical_json(Json(std::int64_t{9007199254740993})).value() ==
        "9007199254740993");
  CHECK(cordon::canonical_json(Json(std::numeric_limits<std::int64_t>::min())).value() ==
        "-9223372036854775808");
  CHECK(cordon::canonical_json(Json(std::numeric_limits<std::uint64_t>::max())).value() ==
        "18446744073709551615");
}

TEST_CASE("control characters use short escapes where JSON has them and \\u00xx otherwise") {
  std::string controls;
  for (char c = 0; c < 0x20; ++c) controls.push_back(c);
  CHECK(cordon::canonical_json(Json(controls)).value() ==
        R"("\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\b\t\n\u000b\f\r\u000e\u000f)"
        R"(\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001a\u001b\u001c\u001d)"
        R"(\u001e\u001f")");
}

TEST_CASE("quote and backslash are escaped; slash, DEL and non-ASCII are written raw") {
  CHECK(cordon::canonical_json(Json("\"\\/\x7f\xe2\x80\xa8\xf0\x9f\x98\x80")).value() ==
        "\"\\\"\\\\/\x7f\xe2\x80\xa8\xf0\x9f\x98\x80\"");
}

TEST_CASE("a string that is not UTF-8 is refused") {
  for (const std::string_view text : {"a\xff", "\xc3", "\xed\xa0\x80"}) {
    const auto canonical_text = cordon::canonical_json(Json(std::string(text)));
    REQUIRE_FALSE(canonical_text);
    CHECK(canonical_text.error().code == Errc::invalid_argument);
  }
  CHECK_FALSE(cordon::canonical_json(Json{{"key\xff", 1}}));
}

TEST_CASE("binary values are refused") {
  CHECK_FALSE(cordon::canonical_json(Json::binary({1, 2, 3})));
}

TEST_CASE("append_canonical_json appends to what the string already holds") {
  std::string out = "prefix:";
  REQUIRE(cordon::append_canonical_json(out, Json::parse(R"({"b":[true],"a":null})")));
  CHECK(out == R"(prefix:{"a":null,"b":[true]})");
}

TEST_CASE("append_canonical_json leaves the string unchanged on failure") {
  std::string out = "prefix:";
  const Json value = {{"a", "ok"}, {"b", std::numeric_limits<double>::quiet_NaN()}};
  CHECK_FALSE(cordon::append_canonical_json(out, value));
  CHECK(out == "prefix:");
}

TEST_CASE("append_canonical_string quotes and escapes") {
  std::string out = "x=";
  cordon::append_canonical_string(out, "say \"hi\"\n");
  CHECK(out == R"(x="say \"hi\"\n")");
}

TEST_CASE("append_canonical_string writes U+FFFD for each ill-formed byte") {
  std::string out;
  cordon::append_canonical_string(out, "a\xff\xfe" "b");
  CHECK(out == "\"a\xef\xbf\xbd\xef\xbf\xbd" "b\"");
}

#include <catch2/catch.hpp>

#include <string>

#include "common/json.h"

using cordon::Errc;
using cordon::Json;

namespace {

std::string nested_arrays(int depth) { return std::string(depth, '[') + std::string(depth, ']'); }

} // namespace

TEST_CASE("parse_json reads objects, arrays, strings and numbers") {
  const auto parsed = cordon::parse_json(R"({"a": [1, -2, 18446744073709551615, 1.5, "x\u00e9"],
                                            "b": {"c": null, "d": true}})");
  REQUIRE(parsed);
  const Json& document = *parsed;
  CHECK(document["a"][0].get<std::int64_t>() == 1);
  CHECK(document["a"][1].get<std::int64_t>() == -2);
  CHECK(document["a"][2].get<std::uint64_t>() == 18446744073709551615u);
  CHECK(document["a"][3].get<double>() == 1.5);
  CHECK(document["a"][4].get<std::string>() == "x\xc3\xa9");
  CHECK(document["b"]["c"].is_null());
  CHECK(document["b"]["d"].get<bool>());
}

TEST_CASE("parse_json reads a top-level scalar") {
  CHECK(cordon::parse_json("42").value() == Json(42));
  CHECK(cordon::parse_json(R"("text")").value() == Json("text"));
}

TEST_CASE("malformed JSON is refused as invalid_argument") {
  for (const std::string_view text :
       {"", " ", "{", R"({"a":1,})", R"({"a" 1})", "[1,]", "{} x", "[1] [2]", "nul", "01",
        "'a'", R"({"a":1}})", "\"unterminated", "[1e]"}) {
    INFO(text);
    const auto parsed = cordon::parse_json(text);
    REQUIRE_FALSE(parsed);
    CHECK(parsed.error().code == Errc::invalid_argument);
  }
}

TEST_CASE("a document over max_bytes is refused as too_large") {
  const cordon::JsonLimits limits{.max_bytes = 8, .max_depth = 32};
  CHECK(cordon::parse_json(R"({"a":12})", limits)); // exactly 8 bytes
  const auto parsed = cordon::parse_json(R"({"a":123})", limits);
  REQUIRE_FALSE(parsed);
  CHECK(parsed.error().code == Errc::too_large);
}

TEST_CASE("nesting deeper than max_depth is refused") {
  const cordon::JsonLimits limits{.max_bytes = 1 << 20, .max_depth = 3};
  CHECK(cordon::parse_json("[[[]]]", limits));
  CHECK(cordon::parse_json(R"({"a":{"b":[1]}})", limits));
  for (const std::string_view text : {"[[[[]]]]", R"({"a":{"b":{"c":{}}}})", R"([{"a":[{}]}])"}) {
    INFO(text);
    const auto parsed = cordon::parse_json(text, limits);
    REQUIRE_FALSE(parsed);
    CHECK(parsed.error().code == Errc::invalid_argument);
  }
}

TEST_CASE("the default depth limit allows 32 nested containers and refuses 33") {
  CHECK(cordon::parse_json(nested_arrays(32)));
  CHECK_FALSE(cordon::parse_json(nested_arrays(33)));
  CHECK_FALSE(cordon::parse_json(nested_arrays(100000)));
}

TEST_CASE("a duplicate object key is refused and named") {
  const auto parsed = cordon::parse_json(R"({"a":1,"b":2,"a":3})");
  REQUIRE_FALSE(parsed);
  CHECK(parsed.error().code == Errc::invalid_argument);
  CHECK(parsed.error().message == R"(duplicate object key "a")");
}

TEST_CASE("keys that are duplicates only after unescaping are refused") {
  CHECK_FALSE(cordon::parse_json(R"({"a":1,"\u0061":2})"));
}

TEST_CASE("a duplicate key inside a nested object is refused") {
  CHECK_FALSE(cordon::parse_json(R"({"x":[{"k":1}, {"k":1,"k":1}]})"));
}

TEST_CASE("equal keys in different objects are accepted") {
  CHECK(cordon::parse_json(R"({"k":{"k":1},"j":[{"k":1},{"k":2}]})"));
}

TEST_CASE("invalid UTF-8 is refused") {
  for (const std::string_view text : {
           "\"\xff\"",             // never valid
           "\"\xc3\"",             // truncated sequence
           "\"\xc0\xaf\"",         // overlong '/'
           "\"\xe0\x80\xaf\"",     // overlong '/'
           "\"\xed\xa0\x80\"",     // encoded surrogate U+D800
           "\"\xf4\x90\x80\x80\"", // above U+10FFFF
           "{\"\x80\":1}",         // in a key
       }) {
    INFO(text);
    const auto parsed = cordon::parse_json(text);
    REQUIRE_FALSE(parsed);
    CHECK(parsed.error().code == Errc::invalid_argument);
    CHECK_THAT(parsed.error().message, Catch::Contains("not UTF-8"));
  }
}

TEST_CASE("an escaped lone surrogate is refused") {
  CHECK_FALSE(cordon::parse_json(R"("\ud800")"));
  CHECK_FALSE(cordon::parse_json(R"("\udc00\ud800")"));
  CHECK(cordon::parse_json(R"("\ud83d\ude00")").value() == Json("\xf0\x9f\x98\x80"));
}

TEST_CASE("a number too large for a double is refused") {
  CHECK_FALSE(cordon::parse_json("1e400"));
  CHECK_FALSE(cordon::parse_json("[-1e400]"));
}

TEST_CASE("parse errors do not quote the input") {
  const auto parsed = cordon::parse_json(R"({"password": "hunter2" "x"})");
  REQUIRE_FALSE(parsed);
  CHECK(parsed.error().message.find("hunter2") == std::string::npos);
}

TEST_CASE("contains_float finds a float at any depth") {
  CHECK(cordon::contains_float(Json::parse(R"({"a":[1,{"b":2.5}]})")));
  CHECK(cordon::contains_float(Json::parse("1.0")));
  CHECK(cordon::contains_float(Json::parse("[-0.0]")));
}

TEST_CASE("contains_float is false for integers, strings and literals") {
  CHECK_FALSE(cordon::contains_float(Json::parse(
      R"({"a":[1,-2,18446744073709551615,{"b":"2.5"}],"c":null,"d":true,"e":{}})")));
}

TEST_CASE("require_known_fields accepts a subset of the allowed fields") {
  CHECK(cordon::require_known_fields(Json::parse(R"({"a":1,"b":2})"), {"a", "b", "c"}));
  CHECK(cordon::require_known_fields(Json::object(), {}));
}

TEST_CASE("require_known_fields names the unknown field") {
  const auto checked = cordon::require_known_fields(Json::parse(R"({"a":1,"extra":2})"), {"a"});
  REQUIRE_FALSE(checked);
  CHECK(checked.error().code == Errc::unknown_field);
  CHECK(checked.error().message == R"(unknown field "extra")");
}

TEST_CASE("require_known_fields escapes and shortens a hostile field name") {
  const std::string name = "line\nbreak" + std::string(100, 'x');
  const auto checked = cordon::require_known_fields(Json{{name, 1}}, {"a"});
  REQUIRE_FALSE(checked);
  CHECK(checked.error().message ==
        "unknown field \"line\\nbreak" + std::string(54, 'x') + "\"...");
}

TEST_CASE("require_known_fields refuses a non-object") {
  const auto checked = cordon::require_known_fields(Json::array(), {"a"});
  REQUIRE_FALSE(checked);
  CHECK(checked.error().code == Errc::invalid_argument);
}

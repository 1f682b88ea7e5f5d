#include <catch2/catch.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"
#include "common/json_document.h"

using cordon::Errc;
using cordon::Json;
using cordon::JsonDocument;
using cordon::JsonLimits;
using cordon::JsonReplacement;
using cordon::JsonType;
using cordon::JsonValue;
using namespace std::literals;

namespace {

JsonDocument parse(std::string_view text, const JsonLimits& limits = {}) {
  auto document = JsonDocument::parse(text, limits);
  REQUIRE(document);
  return std::move(*document);
}

cordon::Error refusal(std::string_view text, const JsonLimits& limits = {}) {
  auto document = JsonDocument::parse(text, limits);
  REQUIRE_FALSE(document);
  return document.error();
}

// Refused by both parsers, with the same code and message.
void check_refused_like_parse_json(std::string_view text, const JsonLimits& limits = {}) {
  const auto expected = cordon::parse_json(text, limits);
  REQUIRE_FALSE(expected);
  const cordon::Error error = refusal(text, limits);
  CHECK(error.code == expected.error().code);
  CHECK(error.message == expected.error().message);
}

std::string canonical(JsonValue value, std::span<const JsonReplacement> replacements = {}) {
  std::string out;
  cordon::append_canonical(out, value, replacements);
  return out;
}

std::string canonical(std::string_view text) { return canonical(parse(text).root()); }

std::string nested_arrays(int depth) { return std::string(depth, '[') + std::string(depth, ']'); }

} // namespace

TEST_CASE("JsonDocument reads objects, arrays, strings, numbers and literals") {
  const JsonDocument document = parse(R"({"a": [1, -2, 18446744073709551615, 1.5, "x\u00e9"],
                                          "b": {"c": null, "d": true, "e": false}})");
  const JsonValue root = document.root();
  REQUIRE(root.is_object());
  CHECK(root.size() == 2);
  const JsonValue a = root.find("a").value();
  REQUIRE(a.is_array());
  CHECK(a.size() == 5);
  CHECK(a.at(0)->unsigned_integer() == 1);
  CHECK(a.at(1)->integer() == -2);
  CHECK(a.at(2)->unsigned_integer() == 18446744073709551615u);
  CHECK(a.at(3)->floating() == 1.5);
  CHECK(a.at(4)->string() == "x\xc3\xa9");
  CHECK_FALSE(a.at(5));
  const JsonValue b = root.find("b").value();
  CHECK(b.find("c")->is_null());
  CHECK(b.find("d")->boolean());
  CHECK_FALSE(b.find("e")->boolean());
  CHECK_FALSE(b.find("f"));
  CHECK_FALSE(a.find("a")); // not an object
}

TEST_CASE("JsonDocument reads a top-level scalar") {
  CHECK(parse("42").root().unsigned_integer() == 42);
  CHECK(parse(R"( "text" )").root().string() == "text");
  CHECK(parse("null").root().is_null());
  CHECK(parse("[]").root().empty());
  CHECK(parse("{}").root().size() == 0);
}

TEST_CASE("members and elements are visited in document order") {
  const JsonDocument document = parse(R"({"z":1,"a":[true,{"k":[]},"s"],"m":{}})");
  std::vector<std::string_view> keys;
  for (const cordon::JsonMember& member : document.root().members()) keys.push_back(member.key);
  CHECK(keys == std::vector<std::string_view>{"z", "a", "m"});
  std::vector<JsonType> types;
  for (const JsonValue element : document.root().find("a")->elements()) types.push_back(element.type());
  CHECK(types == std::vector<JsonType>{JsonType::boolean, JsonType::object, JsonType::string});
  CHECK(document.root().elements().begin() == document.root().elements().end()); // not an array
}

TEST_CASE("values are numbered in document order") {
  const JsonDocument document = parse(R"({"a":[10,20],"b":30})");
  const JsonValue a = document.root().find("a").value();
  CHECK(document.root().id() == 0);
  CHECK(a.id() == 2); // after the key "a"
  CHECK(a.at(1)->id() == 4);
  CHECK(document.root().find("b")->id() == 6);
}

TEST_CASE("numbers are classified as nlohmann classifies them") {
  const JsonDocument document = parse(
      "[0, -0, 9223372036854775807, -9223372036854775808, -9223372036854775809, 18446744073709551615,"
      " 18446744073709551616, 1.0, 1e2, -0.0, 1E-2]");
  const JsonValue numbers = document.root();
  CHECK(numbers.at(0)->type() == JsonType::unsigned_integer);
  CHECK(numbers.at(1)->type() == JsonType::integer);
  CHECK(numbers.at(1)->integer() == 0);
  CHECK(numbers.at(2)->unsigned_integer() == 9223372036854775807u);
  CHECK(numbers.at(3)->integer() == INT64_MIN);
  CHECK(numbers.at(4)->type() == JsonType::floating);
  CHECK(numbers.at(5)->unsigned_integer() == UINT64_MAX);
  CHECK(numbers.at(6)->type() == JsonType::floating);
  CHECK(numbers.at(6)->floating() == 18446744073709551616.0);
  for (std::size_t i = 7; i < numbers.size(); ++i) {
    INFO(i);
    CHECK(numbers.at(i)->type() == JsonType::floating);
  }
  CHECK(numbers.at(8)->floating() == 100);
  CHECK(numbers.at(10)->floating() == 0.01);
}

TEST_CASE("a number below the smallest double reads as zero and one above the largest is refused") {
  CHECK(parse("1e-400").root().floating() == 0);
  CHECK(parse("2.4703282292062328e-324").root().floating() > 0); // rounds up to the least subnormal
  check_refused_like_parse_json("1e400");
  check_refused_like_parse_json("[-1e400]");
  check_refused_like_parse_json("1.8e308");
}

TEST_CASE("escapes are decoded and text without escapes is a view of the input") {
  const std::string text = R"(["plain", "a\"b\\c\/d\b\f\n\r\t", "\u00e9\u20AC\ud83d\ude00", "\u0000"])";
  const JsonDocument document = parse(text);
  const JsonValue strings = document.root();
  const std::string_view plain = strings.at(0)->string();
  CHECK(plain == "plain");
  CHECK(plain.data() == text.data() + 2);
  CHECK(strings.at(1)->string() == "a\"b\\c/d\b\f\n\r\t");
  CHECK(strings.at(2)->string() == "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
  CHECK(strings.at(3)->string() == std::string_view("\0", 1));
}

TEST_CASE("decoded strings stay valid when the document moves") {
  const std::string text = R"({"k\u0041":"v\n"})";
  auto parsed = JsonDocument::parse(text);
  REQUIRE(parsed);
  const JsonDocument moved = std::move(*parsed);
  const cordon::JsonMember member = *moved.root().members().begin();
  CHECK(member.key == "kA");
  CHECK(member.value.string() == "v\n");
}

TEST_CASE("JsonDocument refuses malformed JSON as parse_json does, at the same byte") {
  for (const std::string_view text :
       {""sv, " "sv, "{"sv, "}"sv, "["sv, R"({"a":1,})"sv, R"({"a" 1})"sv, "[1,]"sv, "{} x"sv, "[1] [2]"sv, "nul"sv,
        "trux"sv, "01"sv, "-"sv, "-x"sv, "1."sv, "1.x"sv, "1e"sv, "1e+"sv, ".5"sv, "+1"sv, "'a'"sv, R"({"a":1}})"sv,
        "\"unterminated"sv, "[1e]"sv, "{1:2}"sv, R"({"a"})"sv, R"({"a":})"sv, R"(["a" "b\q"])"sv, "[1 2]"sv,
        R"("\q")"sv, R"("\u12g4")"sv, "\"\\"sv, "\"\\u12"sv, "\"a\x01\""sv, "[\"\\u0041\x1f\"]"sv, "\0"sv,
        "[1\0]"sv, "\xef\xbb\xbf"sv, " \xef\xbb\xbf{}"sv, "\xef\xbc\x81"sv}) {
    INFO(text);
    check_refused_like_parse_json(text);
    CHECK(refusal(text).code == Errc::invalid_argument);
  }
}

TEST_CASE("a UTF-8 byte order mark before the value is skipped, as parse_json skips it") {
  CHECK(parse("\xef\xbb\xbf{\"a\":1}").root().find("a"));
}

// nlohmann takes a NUL byte outside a string for the end of the input.
TEST_CASE("bytes after a NUL that follows the value are ignored, as parse_json ignores them") {
  const std::string text = "{\"a\":1} \0 trailing"s;
  CHECK(cordon::parse_json(text));
  CHECK(parse(text).root().size() == 1);
  check_refused_like_parse_json("{}\0\xff"s); // still checked as UTF-8
}

TEST_CASE("JsonDocument refuses a document over max_bytes as too_large") {
  const JsonLimits limits{.max_bytes = 8, .max_depth = 32};
  CHECK(JsonDocument::parse(R"({"a":12})", limits)); // exactly 8 bytes
  CHECK(refusal(R"({"a":123})", limits).code == Errc::too_large);
  check_refused_like_parse_json(R"({"a":123})", limits);
  check_refused_like_parse_json("\xff\xff\xff\xff\xff\xff\xff\xff\xff", limits); // size first
}

TEST_CASE("JsonDocument refuses nesting deeper than max_depth") {
  const JsonLimits limits{.max_bytes = 1 << 20, .max_depth = 3};
  CHECK(JsonDocument::parse("[[[]]]", limits));
  CHECK(JsonDocument::parse(R"({"a":{"b":[1]}})", limits));
  for (const std::string_view text : {"[[[[]]]]", R"({"a":{"b":{"c":{}}}})", R"([{"a":[{}]}])", "[[[[ x"}) {
    INFO(text);
    check_refused_like_parse_json(text, limits);
    CHECK(refusal(text, limits).message == "JSON nesting is deeper than 3");
  }
  check_refused_like_parse_json("[]", JsonLimits{.max_bytes = 16, .max_depth = 0});
  check_refused_like_parse_json("{}", JsonLimits{.max_bytes = 16, .max_depth = -1});
  CHECK(JsonDocument::parse("7", JsonLimits{.max_bytes = 16, .max_depth = -1}));
}

TEST_CASE("the default depth limit allows 32 nested containers and deep input does not overflow") {
  CHECK(JsonDocument::parse(nested_arrays(32)));
  check_refused_like_parse_json(nested_arrays(33));
  check_refused_like_parse_json(nested_arrays(100000));
  const JsonLimits deep{.max_bytes = 1 << 20, .max_depth = 100000};
  const JsonDocument document = parse(nested_arrays(100000), deep);
  CHECK(canonical(document.root()) == nested_arrays(100000)); // written without recursion
}

TEST_CASE("a duplicate object key is refused and named as parse_json names it") {
  const cordon::Error error = refusal(R"({"a":1,"b":2,"a":3})");
  CHECK(error.code == Errc::invalid_argument);
  CHECK(error.message == R"(duplicate object key "a")");
  for (const std::string_view text : {
           R"({"a":1,"\u0061":2})",               // equal once unescaped
           R"({"x":[{"k":1}, {"k":1,"k":1}]})",   // nested
           R"({"a":1,"a" x})",                    // refused on reading the key, before the colon
           R"({"a":1,"a":2,"b":1,"b":2})",        // the first duplicate is named
           "{\"line\\nbreak\":1,\"line\\nbreak\":2}", // escaped in the message
       }) {
    INFO(text);
    check_refused_like_parse_json(text);
  }
}

TEST_CASE("duplicates in an object with many members are found") {
  std::string text = "{";
  for (int i = 0; i < 5000; ++i) text += "\"k" + std::to_string(i) + "\":" + std::to_string(i) + ",";
  CHECK(JsonDocument::parse(text + "\"last\":0}"));
  check_refused_like_parse_json(text + "\"k4321\":0}");
  check_refused_like_parse_json(text + "\"k0\":{\"k0\":1,\"k0\":2}}"); // inner duplicate first
  CHECK(refusal(text + "\"k17\":0}").message == R"(duplicate object key "k17")");
}

TEST_CASE("JsonDocument accepts equal keys in different objects") {
  CHECK(JsonDocument::parse(R"({"k":{"k":1},"j":[{"k":1},{"k":2}]})"));
}

TEST_CASE("JsonDocument refuses invalid UTF-8 anywhere, naming the first bad byte") {
  for (const std::string_view text : {
           "\"\xff\"", "\"\xc3\"", "\"\xc0\xaf\"", "\"\xe0\x80\xaf\"", "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"",
           "{\"\x80\":1}", "[1,]\xff",               // after a syntax error
           "{\"a\":1,\"a\":2}\xff",                   // after a duplicate
           "[\xff]",                                  // outside a string
       }) {
    INFO(text);
    check_refused_like_parse_json(text);
    CHECK_THAT(refusal(text).message, Catch::Contains("not UTF-8"));
  }
}

TEST_CASE("JsonDocument refuses an escaped lone surrogate") {
  for (const std::string_view text : {R"("\ud800")", R"("\udc00\ud800")", R"("\ud800\u0041")", R"("\ud800x")",
                                      R"("\ud800\x")", R"("\ud800\u12")", "\"\\ud800\\", R"("\udfff")"}) {
    INFO(text);
    check_refused_like_parse_json(text);
  }
  CHECK(parse(R"("\ud83d\ude00")").root().string() == "\xf0\x9f\x98\x80");
}

TEST_CASE("refusals do not quote the input") {
  CHECK(refusal(R"({"password": "hunter2" "x"})").message.find("hunter2") == std::string::npos);
}

// canonical_json_test.cpp holds append_canonical_json to RFC 8785, its examples included.
TEST_CASE("append_canonical matches append_canonical_json on varied documents") {
  for (const std::string_view text : {
           // RFC 8785 §3.2.2 and §3.2.3
           R"({"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
               "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/", "literals": [null, true, false]})",
           R"({"\u20ac": "Euro Sign", "\r": "Carriage Return", "\ufb33": "Dalet", "1": "One",
               "\ud83d\ude00": "Emoji", "\u0080": "Control", "\u00f6": "o"})",
           R"({"b":1,"ab":2,"a":3,"B":4,"":5})",
           R"( { "b" : [ 1 , { "d" : 2 , "c" : 3 } ] ,"a" : "" , "e":{} } )",
           R"([-0, 0.0, -0.0, 1e21, 1e-7, 123456789012345678901234567890, 0.1, 5e-324, -9223372036854775808])",
           R"({"aaaaaaaa1":1,"aaaaaaaa":2,"aaaaaaab":3,"a\u0000":4,"a":5})",
           R"({"\uffff":1,"\ud800\udc00":2,"\ue000":3,"\ud7ff":4})",
           R"({"k":"\u007f\u0080\u2028 \" \\ \u001f"})",
           "\"\xe2\x80\xa8\"",
       }) {
    INFO(text);
    CHECK(canonical(text) == cordon::canonical_json(cordon::parse_json(text).value()).value());
  }
}

TEST_CASE("append_canonical writes replacements in place of the values they name") {
  const JsonDocument document = parse(R"({"b":{"secret":"hunter2","n":[1,"x"]},"a":"keep"})");
  const JsonValue b = document.root().find("b").value();
  const std::vector<JsonReplacement> replacements = {{b.find("secret")->id(), "hmac-sha256:00"},
                                                     {b.find("n")->at(0)->id(), "one \"quoted\""}};
  CHECK(canonical(document.root(), replacements) ==
        R"({"a":"keep","b":{"n":["one \"quoted\"","x"],"secret":"hmac-sha256:00"}})");
  CHECK(canonical(b, replacements) == R"({"n":["one \"quoted\"","x"],"secret":"hmac-sha256:00"})");
  const std::vector<JsonReplacement> whole = {{b.id(), "gone"}};
  CHECK(canonical(document.root(), whole) == R"({"a":"keep","b":"gone"})");
  const std::vector<JsonReplacement> not_utf8 = {{document.root().find("a")->id(), "\xff"}};
  CHECK(canonical(document.root(), not_utf8) == "{\"a\":\"\xef\xbf\xbd\",\"b\":{\"n\":[1,\"x\"],\"secret\":\"hunter2\"}}");
}

TEST_CASE("append_canonical appends to what the string holds") {
  std::string out = "prefix:";
  cordon::append_canonical(out, parse(R"({"b":[],"a":null})").root());
  CHECK(out == R"(prefix:{"a":null,"b":[]})");
}

TEST_CASE("require_known_fields on a document names the unknown field the Json version names") {
  const JsonDocument document = parse(R"({"a":1,"zeta":2,"extra":3,"b":{}})");
  CHECK(cordon::require_known_fields(document.root(), {"a", "b", "extra", "zeta"}));
  const auto checked = cordon::require_known_fields(document.root(), {"a", "b"});
  REQUIRE_FALSE(checked);
  CHECK(checked.error().code == Errc::unknown_field);
  CHECK(checked.error().message == R"(unknown field "extra")"); // the least in byte order
  const auto reference = cordon::require_known_fields(cordon::parse_json(R"({"a":1,"zeta":2,"extra":3,"b":{}})").value(), {"a", "b"});
  CHECK(reference.error().message == checked.error().message);
  CHECK(cordon::require_known_fields(document.root().find("b").value(), {}));
  CHECK(cordon::require_known_fields(document.root().find("a").value(), {"a"}).error().code == Errc::invalid_argument);
}

#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <map>
#include <string>

#include "common/json.h"
#include "common/tools/schema_check.h"
#include "common/tools/tool_catalog.h"

using cordon::Errc;
using cordon::Json;
using cordon::tools::check_against_schema;
using cordon::tools::check_schema;

namespace {

Json json(std::string_view text) { return cordon::parse_json(text).value(); }

const Json& schema_of(std::string_view tool) {
  const auto* spec = cordon::tools::find_tool(tool);
  REQUIRE(spec != nullptr);
  return spec->input_schema;
}

// "accepted", or the message of the refusal, so that a failing CHECK shows why.
std::string outcome(const cordon::Result<void>& checked) {
  return checked ? "accepted" : checked.error().message;
}

// The message `value` is refused with; fails the test if it is accepted or refused otherwise.
std::string refusal(const Json& value, const Json& schema) {
  const auto checked = check_against_schema(value, schema);
  REQUIRE_FALSE(checked);
  CHECK(checked.error().code == Errc::invalid_argument);
  return checked.error().message;
}

// The message a schema is refused with as unsupported.
std::string schema_refusal(const Json& schema) {
  const auto checked = check_against_schema(Json::object(), schema);
  REQUIRE_FALSE(checked);
  CHECK(checked.error().code == Errc::internal);
  const auto alone = check_schema(schema);
  REQUIRE_FALSE(alone);
  CHECK(alone.error().message == checked.error().message);
  return checked.error().message;
}

// The smallest arguments each built-in tool accepts. A new tool must be added here.
const std::map<std::string, Json, std::less<>>& minimal_arguments() {
  static const std::map<std::string, Json, std::less<>> arguments = {
      {"email.send", json(R"({"to": ["a@example.com"], "subject": "", "body": ""})")},
      {"fs.delete", json(R"({"path": "a"})")},
      {"fs.read", json(R"({"path": "a"})")},
      {"fs.write", json(R"({"path": "a", "content": ""})")},
      {"git.delete_branch", json(R"({"repo": "r", "branch": "b"})")},
      {"git.push",
       json(R"({"repo": "r", "branch": "b", "head": "0123456789abcdef0123456789abcdef01234567"})")},
      {"http.request", json(R"({"method": "GET", "url": "https://example.com/"})")},
      {"secrets.rotate", json(R"({"name": "n"})")},
      {"sql.query", json(R"({"database": "d", "sql": "SELECT 1"})")},
  };
  return arguments;
}

} // namespace

// ---- The built-in tools ----

TEST_CASE("every built-in tool's schema is supported by the checker") {
  for (const auto& tool : cordon::tools::builtin_tools()) {
    INFO(tool.name);
    CHECK(outcome(check_schema(tool.input_schema)) == "accepted");
  }
}

TEST_CASE("every built-in tool accepts its minimal arguments") {
  for (const auto& tool : cordon::tools::builtin_tools()) {
    INFO(tool.name);
    const auto found = minimal_arguments().find(tool.name);
    REQUIRE(found != minimal_arguments().end());
    CHECK(outcome(check_against_schema(found->second, tool.input_schema)) == "accepted");
  }
}

TEST_CASE("every built-in tool requires members and refuses empty arguments naming the first") {
  for (const auto& tool : cordon::tools::builtin_tools()) {
    INFO(tool.name);
    REQUIRE(tool.input_schema.contains("required"));
    const Json& required = tool.input_schema.at("required");
    REQUIRE_FALSE(required.empty());
    CHECK(refusal(Json::object(), tool.input_schema) ==
          "arguments/" + required[0].get<std::string>() + ": is required");
  }
}

TEST_CASE("every built-in tool refuses arguments that are not an object") {
  for (const auto& tool : cordon::tools::builtin_tools()) {
    INFO(tool.name);
    CHECK(refusal(Json::array(), tool.input_schema) == "arguments: must be an object");
    CHECK(refusal(nullptr, tool.input_schema) == "arguments: must be an object");
  }
}

TEST_CASE("email.send refuses a recipient over 320 characters and names its index") {
  Json arguments = minimal_arguments().at("email.send");
  arguments["to"] = {"a@example.com", "b@example.com", "c@example.com", std::string(321, 'x')};
  CHECK(refusal(arguments, schema_of("email.send")) == "arguments/to/3: must be at most 320 characters");
  arguments["to"][3] = std::string(320, 'x');
  CHECK(check_against_schema(arguments, schema_of("email.send")));
}

TEST_CASE("email.send refuses an empty recipient list and more than 100 recipients") {
  Json arguments = minimal_arguments().at("email.send");
  arguments["to"] = Json::array();
  CHECK(refusal(arguments, schema_of("email.send")) == "arguments/to: must have at least 1 item");
  arguments["to"] = Json(std::vector<std::string>(101, "a@example.com"));
  CHECK(refusal(arguments, schema_of("email.send")) == "arguments/to: must have at most 100 items");
}

TEST_CASE("http.request refuses a header value that is not a string") {
  Json arguments = minimal_arguments().at("http.request");
  arguments["headers"] = {{"Accept", "text/plain"}, {"X-Count", 3}};
  CHECK(refusal(arguments, schema_of("http.request")) == "arguments/headers/X-Count: must be a string");
  arguments["headers"]["X-Count"] = "3";
  CHECK(check_against_schema(arguments, schema_of("http.request")));
}

TEST_CASE("http.request refuses a method outside its enum and lists the allowed ones") {
  Json arguments = minimal_arguments().at("http.request");
  arguments["method"] = "TRACE";
  CHECK(refusal(arguments, schema_of("http.request")) ==
        R"(arguments/method: must be one of "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")");
  arguments["method"] = "get";
  CHECK_FALSE(check_against_schema(arguments, schema_of("http.request")));
}

TEST_CASE("sql.query refuses max_rows 0 and 10001 and accepts 1 and 10000") {
  Json arguments = minimal_arguments().at("sql.query");
  arguments["max_rows"] = 0;
  CHECK(refusal(arguments, schema_of("sql.query")) == "arguments/max_rows: must be at least 1");
  arguments["max_rows"] = 10001;
  CHECK(refusal(arguments, schema_of("sql.query")) == "arguments/max_rows: must be at most 10000");
  arguments["max_rows"] = -1;
  CHECK(refusal(arguments, schema_of("sql.query")) == "arguments/max_rows: must be at least 1");
  for (const int rows : {1, 10000}) {
    arguments["max_rows"] = rows;
    CHECK(check_against_schema(arguments, schema_of("sql.query")));
  }
}

TEST_CASE("sql.query refuses a float max_rows even when it is integral") {
  Json arguments = minimal_arguments().at("sql.query");
  arguments["max_rows"] = 5.0;
  CHECK(refusal(arguments, schema_of("sql.query")) == "arguments/max_rows: must be an integer");
  arguments["max_rows"] = json("5.0");
  CHECK(refusal(arguments, schema_of("sql.query")) == "arguments/max_rows: must be an integer");
  arguments["max_rows"] = "5";
  CHECK(refusal(arguments, schema_of("sql.query")) == "arguments/max_rows: must be an integer");
}

TEST_CASE("a member the schema does not name is refused when additionalProperties is false") {
  Json arguments = minimal_arguments().at("sql.query");
  arguments["timeout"] = 5;
  CHECK(refusal(arguments, schema_of("sql.query")) == "arguments/timeout: unknown member");
}

TEST_CASE("git.push refuses a head that is not 40 lowercase hex digits") {
  Json arguments = minimal_arguments().at("git.push");
  for (const std::string head :
       {"0123456789ABCDEF0123456789ABCDEF01234567", "0123456789abcdef",
        "0123456789abcdef0123456789abcdef012345678", "main", "0123456789abcdef0123456789abcdef01234567\n",
        "x0123456789abcdef0123456789abcdef01234567"}) {
    INFO(head);
    arguments["head"] = head;
    CHECK(refusal(arguments, schema_of("git.push")) ==
          "arguments/head: must match the pattern ^[0-9a-f]{40}$");
  }
}

// ---- Keywords, one by one ----

TEST_CASE("type accepts a value of the named type and refuses others") {
  const struct {
    std::string_view type;
    std::string_view accepted;
    std::string_view refused;
    std::string_view phrase;
  } cases[] = {
      {"object", "{}", "[]", "an object"},     {"array", "[]", "{}", "an array"},
      {"string", R"("")", "1", "a string"},    {"integer", "-3", "1.5", "an integer"},
      {"number", "1.5", R"("1")", "a number"}, {"boolean", "false", "0", "a boolean"},
      {"null", "null", "false", "null"},
  };
  for (const auto& c : cases) {
    INFO(c.type);
    const Json schema = {{"type", c.type}};
    CHECK(check_against_schema(json(c.accepted), schema));
    CHECK(refusal(json(c.refused), schema) == "arguments: must be " + std::string(c.phrase));
  }
}

TEST_CASE("type integer accepts the full signed and unsigned 64-bit range") {
  const Json schema = {{"type", "integer"}};
  CHECK(check_against_schema(Json(std::numeric_limits<std::int64_t>::min()), schema));
  CHECK(check_against_schema(Json(std::numeric_limits<std::uint64_t>::max()), schema));
  CHECK(check_against_schema(json("18446744073709551615"), schema));
}

TEST_CASE("type number accepts integers") { CHECK(check_against_schema(Json(3), {{"type", "number"}})); }

TEST_CASE("an array of types accepts any of them and lists them when refusing") {
  const Json schema = json(R"({"type": ["object", "array", "null"]})");
  CHECK(check_against_schema(Json::array(), schema));
  CHECK(check_against_schema(nullptr, schema));
  CHECK(refusal(Json("x"), schema) == "arguments: must be an object, an array or null");
  CHECK(refusal(Json(1), json(R"({"type": ["string", "null"]})")) == "arguments: must be a string or null");
}

TEST_CASE("properties check named members and ignore absent ones") {
  const Json schema = json(R"({"properties": {"a": {"type": "string"}, "b": {"type": "integer"}}})");
  CHECK(check_against_schema(json(R"({"a": "x"})"), schema));
  CHECK(check_against_schema(json(R"({"a": "x", "other": 1})"), schema));
  CHECK(refusal(json(R"({"a": "x", "b": "y"})"), schema) == "arguments/b: must be an integer");
  CHECK(check_against_schema(Json("not an object"), schema)); // properties apply to objects only
}

TEST_CASE("required names the first missing member in the schema's order") {
  const Json schema = json(R"({"required": ["b", "a"]})");
  CHECK(check_against_schema(json(R"({"a": 1, "b": null})"), schema));
  CHECK(refusal(json(R"({"a": 1})"), schema) == "arguments/b: is required");
  CHECK(refusal(json(R"({"b": 1})"), schema) == "arguments/a: is required");
}

TEST_CASE("additionalProperties true or absent allows extra members") {
  for (const std::string_view text :
       {R"({"properties": {"a": {}}})", R"({"properties": {"a": {}}, "additionalProperties": true})"}) {
    INFO(text);
    CHECK(check_against_schema(json(R"({"a": 1, "z": [1]})"), json(text)));
  }
}

TEST_CASE("additionalProperties as a schema applies to every member properties does not name") {
  const Json schema =
      json(R"({"properties": {"n": {"type": "integer"}}, "additionalProperties": {"type": "string"}})");
  CHECK(check_against_schema(json(R"({"n": 1, "a": "x", "b": "y"})"), schema));
  CHECK(refusal(json(R"({"n": 1, "a": "x", "b": 2})"), schema) == "arguments/b: must be a string");
  CHECK(refusal(json(R"({"n": "1"})"), schema) == "arguments/n: must be an integer");
}

TEST_CASE("enum accepts only listed values and compares numbers by value") {
  const Json schema = json(R"({"enum": ["a", 1, null, [1, 2], {"k": true}]})");
  for (const std::string_view text : {R"("a")", "1", "1.0", "null", "[1, 2]", R"({"k": true})"}) {
    INFO(text);
    CHECK(check_against_schema(json(text), schema));
  }
  for (const std::string_view text :
       {R"("b")", "2", "false", "[2, 1]", "[1]", R"({"k": false})", R"({"k": true, "l": 1})"}) {
    INFO(text);
    CHECK(refusal(json(text), schema) == R"(arguments: must be one of "a", 1, null, [1,2], {"k":true})");
  }
}

TEST_CASE("an enum of one value is phrased as that value") {
  CHECK(refusal(Json("b"), json(R"({"enum": ["a"]})")) == R"(arguments: must be "a")");
}

TEST_CASE("a long enum is described by its size, not listed") {
  Json options = Json::array();
  for (int i = 0; i < 100; ++i) options.push_back("option-" + std::to_string(i));
  CHECK(refusal(Json("x"), {{"enum", options}}) ==
        "arguments: must be one of the 100 values its schema allows");
}

TEST_CASE("const accepts only its value") {
  const Json schema = json(R"({"const": {"a": [1, "x"]}})");
  CHECK(check_against_schema(json(R"({"a": [1, "x"]})"), schema));
  CHECK(check_against_schema(json(R"({"a": [1.0, "x"]})"), schema));
  CHECK(refusal(json(R"({"a": [1, "y"]})"), schema) == R"(arguments: must be {"a":[1,"x"]})");
  CHECK(refusal(json("0"), json(R"({"const": false})")) == "arguments: must be false");
}

TEST_CASE("minLength and maxLength bound a string's length") {
  const Json schema = json(R"({"minLength": 2, "maxLength": 3})");
  CHECK(check_against_schema(Json("ab"), schema));
  CHECK(check_against_schema(Json("abc"), schema));
  CHECK(refusal(Json("a"), schema) == "arguments: must be at least 2 characters");
  CHECK(refusal(Json("abcd"), schema) == "arguments: must be at most 3 characters");
  CHECK(refusal(Json(""), json(R"({"minLength": 1})")) == "arguments: must be at least 1 character");
  CHECK(check_against_schema(Json(12345), schema)); // lengths apply to strings only
}

TEST_CASE("minLength and maxLength count code points, not bytes") {
  const Json schema = json(R"({"minLength": 3, "maxLength": 3})");
  const std::string euros = "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac"; // 3 code points, 9 bytes
  CHECK(check_against_schema(Json(euros), schema));
  const std::string mixed = "\xf0\x9f\x98\x80"
                            "a"
                            "\xc3\xa9"; // 4 + 1 + 2 bytes
  CHECK(check_against_schema(Json(mixed), schema));
  CHECK(refusal(Json(euros + "\xe2\x82\xac"), schema) == "arguments: must be at most 3 characters");
  CHECK(refusal(Json("\xe2\x82\xac\xe2\x82\xac"), schema) == "arguments: must be at least 3 characters");
}

TEST_CASE("pattern is searched, not anchored") {
  const Json schema = json(R"({"pattern": "b+c"})");
  CHECK(check_against_schema(Json("abbbcd"), schema));
  CHECK(refusal(Json("acd"), schema) == "arguments: must match the pattern b+c");
  CHECK(check_against_schema(Json(5), schema)); // patterns apply to strings only
}

TEST_CASE("a pattern's $ does not match before a trailing newline") {
  const Json schema = json(R"({"pattern": "^a$"})");
  CHECK(check_against_schema(Json("a"), schema));
  CHECK_FALSE(check_against_schema(Json("a\n"), schema));
  CHECK_FALSE(check_against_schema(Json("b\na"), schema));
}

TEST_CASE("a string too long to match safely fails its pattern instead of exhausting the stack") {
  const Json schema = json(R"({"pattern": "^(a|b)*$"})");
  CHECK(check_against_schema(Json(std::string(cordon::tools::max_pattern_subject_bytes, 'a')), schema));
  CHECK(refusal(Json(std::string(cordon::tools::max_pattern_subject_bytes + 1, 'a')), schema) ==
        "arguments: is too long to match against its pattern (over 1024 bytes)");
  CHECK(refusal(Json(std::string(1 << 20, 'a')), schema_of("git.push")["properties"]["head"]) ==
        "arguments: is too long to match against its pattern (over 1024 bytes)");
}

TEST_CASE("minimum and maximum are inclusive bounds on numbers") {
  const Json schema = json(R"({"minimum": -1.5, "maximum": 10})");
  for (const std::string_view text : {"-1.5", "-1", "0", "10", "10.0", "9.999"}) {
    INFO(text);
    CHECK(check_against_schema(json(text), schema));
  }
  CHECK(refusal(json("-2"), schema) == "arguments: must be at least -1.5");
  CHECK(refusal(json("-1.5000001"), schema) == "arguments: must be at least -1.5");
  CHECK(refusal(json("10.5"), schema) == "arguments: must be at most 10");
  CHECK(refusal(json("18446744073709551615"), schema) == "arguments: must be at most 10");
  CHECK(check_against_schema(Json("100"), schema)); // bounds apply to numbers only
}

TEST_CASE("minimum and maximum compare large integers exactly") {
  // 2^53 + 1 rounds to 2^53 as a double; the checker must not round it.
  const Json schema = json(R"({"maximum": 9007199254740992})");
  CHECK(check_against_schema(json("9007199254740992"), schema));
  CHECK(refusal(json("9007199254740993"), schema) == "arguments: must be at most 9007199254740992");
  CHECK(refusal(json("18446744073709551615"), json(R"({"maximum": 18446744073709551614})")) ==
        "arguments: must be at most 18446744073709551614");
  CHECK(refusal(json("-9223372036854775808"), json(R"({"minimum": 0})")) == "arguments: must be at least 0");
  CHECK(refusal(json("9007199254740993"), json(R"({"maximum": 9007199254740992.0})")) ==
        "arguments: must be at most 9.007199254740992e+15");
}

TEST_CASE("a NaN built in code fails both numeric bounds") {
  const Json schema = json(R"({"minimum": 0, "maximum": 1})");
  CHECK_FALSE(check_against_schema(Json(std::numeric_limits<double>::quiet_NaN()), schema));
}

TEST_CASE("items applies its schema to every item and names the failing index") {
  const Json schema = json(R"({"items": {"type": "integer"}})");
  CHECK(check_against_schema(json("[]"), schema));
  CHECK(check_against_schema(json("[1, 2, 3]"), schema));
  CHECK(refusal(json(R"([1, 2, "3", 4.5])"), schema) == "arguments/2: must be an integer");
}

TEST_CASE("minItems and maxItems bound an array's size") {
  const Json schema = json(R"({"minItems": 1, "maxItems": 2})");
  CHECK(check_against_schema(json("[1]"), schema));
  CHECK(check_against_schema(json("[1, 2]"), schema));
  CHECK(refusal(json("[]"), schema) == "arguments: must have at least 1 item");
  CHECK(refusal(json("[1, 2, 3]"), schema) == "arguments: must have at most 2 items");
  CHECK(check_against_schema(json("{}"), schema)); // sizes apply to arrays only
}

TEST_CASE("uniqueItems refuses the first item equal to an earlier one") {
  const Json schema = json(R"({"uniqueItems": true})");
  CHECK(check_against_schema(json(R"([1, "1", [1], {"a": 1}, null, true, 2.5])"), schema));
  CHECK(refusal(json(R"(["x", "y", "z", "y", "x"])"), schema) == "arguments/3: repeats item 1");
  CHECK(refusal(json("[3, 1, 2, 1.0]"), schema) == "arguments/3: repeats item 1");
  CHECK(refusal(json(R"([{"a": [1, 2]}, {"a": [1, 2]}])"), schema) == "arguments/1: repeats item 0");
  CHECK(check_against_schema(json(R"(["x", "x"])"), json(R"({"uniqueItems": false})")));
}

TEST_CASE("uniqueItems on a long array of distinct items finishes") {
  Json items = Json::array();
  for (int i = 0; i < 200000; ++i) items.push_back(i);
  CHECK(check_against_schema(items, json(R"({"uniqueItems": true})")));
  items.push_back(199999);
  CHECK(refusal(items, json(R"({"uniqueItems": true})")) == "arguments/200000: repeats item 199999");
}

TEST_CASE("annotations are accepted and ignored") {
  const Json schema = json(R"({"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "T",
                               "description": "D", "default": 5, "type": "integer"})");
  CHECK(check_against_schema(Json(1), schema));
  CHECK_FALSE(check_against_schema(Json("5"), schema));
}

TEST_CASE("boolean schemas accept everything or nothing") {
  CHECK(check_against_schema(json(R"({"a": [1]})"), Json(true)));
  CHECK(refusal(Json(1), Json(false)) == "arguments: is not allowed here");
  CHECK(refusal(json(R"({"a": 1})"), json(R"({"properties": {"a": false}})")) ==
        "arguments/a: is not allowed here");
}

// ---- Paths and messages ----

TEST_CASE("the error path follows nested objects and arrays under the given root") {
  const Json schema = json(R"({"properties": {"a": {"items": {"properties": {"b": {"type": "string"}}}}}})");
  const auto checked =
      check_against_schema(json(R"({"a": [{"b": "x"}, {"b": 1}]})"), schema, "params/arguments");
  REQUIRE_FALSE(checked);
  CHECK(checked.error().message == "params/arguments/a/1/b: must be a string");
}

TEST_CASE("member names in a path are escaped as in a JSON Pointer") {
  const Json schema = json(R"({"additionalProperties": false})");
  CHECK(refusal(json(R"({"a/b~c": 1})"), schema) == "arguments/a~1b~0c: unknown member");
}

TEST_CASE("a long member name is cut in the path") {
  // The 64-byte cut falls inside the euro sign, so the whole character is dropped.
  const std::string name = std::string(62, 'n') + "\xe2\x82\xac" + std::string(100, 'm');
  const Json schema = json(R"({"additionalProperties": false})");
  CHECK(refusal(Json{{name, 1}}, schema) == "arguments/" + std::string(62, 'n') + "...: unknown member");
}

TEST_CASE("a refusal never quotes the offending value") {
  const std::string secret = "sk-live-" + std::string(400, 'q');
  Json arguments = minimal_arguments().at("email.send");
  arguments["to"] = {secret};
  const std::string message = refusal(arguments, schema_of("email.send"));
  CHECK(message == "arguments/to/0: must be at most 320 characters");
  CHECK(message.find("sk-live") == std::string::npos);
}

// ---- Unsupported schemas ----

TEST_CASE("a schema keyword the checker does not implement is an internal error naming it") {
  CHECK(schema_refusal(json(R"({"type": "string", "format": "email"})")) ==
        "schema/format: unsupported schema keyword");
  CHECK(schema_refusal(json(R"({"oneOf": [{"type": "string"}]})")) ==
        "schema/oneOf: unsupported schema keyword");
  CHECK(schema_refusal(json(R"({"$ref": "#/x"})")) == "schema/$ref: unsupported schema keyword");
}

TEST_CASE("an unsupported keyword is refused even where the value never reaches it") {
  const Json schema = json(R"({"type": "object", "properties": {"cc": {"type": "array",
                               "items": {"type": "string", "exclusiveMaximum": 3}}}})");
  CHECK(schema_refusal(schema) == "schema/properties/cc/items/exclusiveMaximum: unsupported schema keyword");
}

TEST_CASE("a keyword with a value of the wrong form is an internal error") {
  const struct {
    std::string_view schema;
    std::string_view message;
  } cases[] = {
      {R"({"type": "float"})",
       "schema/type: must be a type name or a non-empty array of distinct type names"},
      {R"({"type": []})", "schema/type: must be a type name or a non-empty array of distinct type names"},
      {R"({"type": ["string", "string"]})",
       "schema/type: must be a type name or a non-empty array of distinct type names"},
      {R"({"maxLength": -1})", "schema/maxLength: must be a non-negative integer"},
      {R"({"minItems": 1.0})", "schema/minItems: must be a non-negative integer"},
      {R"({"minimum": "1"})", "schema/minimum: must be a number"},
      {R"({"required": ["a", "a"]})", "schema/required: must be an array of distinct strings"},
      {R"({"required": "a"})", "schema/required: must be an array of distinct strings"},
      {R"({"enum": []})", "schema/enum: must be a non-empty array"},
      {R"({"uniqueItems": 1})", "schema/uniqueItems: must be a boolean"},
      {R"({"items": [{"type": "string"}]})", "schema/items: a schema must be an object or a boolean"},
      {R"({"properties": []})", "schema/properties: must be an object of schemas"},
      {R"({"properties": {"a": 1}})", "schema/properties/a: a schema must be an object or a boolean"},
      {R"({"additionalProperties": "no"})",
       "schema/additionalProperties: a schema must be an object or a boolean"},
      {R"({"pattern": "(unclosed"})", "schema/pattern: is not a valid ECMAScript regular expression"},
      {R"({"pattern": "caf\u00e9"})",
       "schema/pattern: must be ASCII: std::regex would match its characters byte by byte"},
      {R"("string")", "schema: a schema must be an object or a boolean"},
  };
  for (const auto& c : cases) {
    INFO(c.schema);
    CHECK(schema_refusal(json(c.schema)) == c.message);
  }
}

TEST_CASE("a schema nested deeper than the bound is an internal error") {
  Json schema = Json::object();
  for (int depth = 1; depth < cordon::tools::max_schema_depth; ++depth) schema = Json{{"items", schema}};
  CHECK(check_schema(schema)); // exactly max_schema_depth schemas
  schema = Json{{"items", schema}};
  const auto checked = check_schema(schema);
  REQUIRE_FALSE(checked);
  CHECK(checked.error().code == Errc::internal);
  CHECK(checked.error().message.ends_with(": nests deeper than 32 schemas"));
}

TEST_CASE("a value nested deeper than the bound is refused before any keyword") {
  Json value = Json::array(); // depth 1
  for (int depth = 1; depth < cordon::tools::max_value_depth; ++depth) value = Json::array({value});
  CHECK(check_against_schema(value, json(R"({"uniqueItems": true})"))); // exactly max_value_depth
  value = Json::array({value});
  CHECK(refusal(value, json(R"({"uniqueItems": true})")) == "arguments: nests deeper than 32 levels");
  CHECK(refusal(Json{{"a", value}}, Json(true)) == "arguments: nests deeper than 32 levels");
}

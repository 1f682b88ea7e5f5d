#include <catch2/catch.hpp>

#include <array>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "auditd/ledger/event.h"
#include "common/json_document.h"
#include "test_support.h"
#include "tests/support/event_paths.h"

// POST /v1/events reads bodies with JsonDocument and prepare_events(JsonValue); everything else
// that prepares events uses parse_json and prepare_events(const Json&). These tests hold the
// two to the same result on the same bytes: the same events, byte for byte, or the same error.

using namespace cordon;
using namespace cordon::ledger;
using cordon::ledger::testing::test_salt;

namespace {

const EventContext context{"acme", "agentd", test_salt()};
constexpr JsonLimits route_limits{.max_bytes = std::size_t{16} << 20, .max_depth = 32};

std::string printable(std::string_view bytes) {
  static constexpr std::string_view hex = "0123456789abcdef";
  std::string out;
  for (const char c : bytes) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7f) {
      out.push_back(c);
    } else {
      out += "\\x";
      out.push_back(hex[byte >> 4]);
      out.push_back(hex[byte & 0xf]);
    }
  }
  return out;
}

std::optional<std::string> difference(std::string_view body, const JsonLimits& limits = route_limits,
                                      std::size_t max_events = 4096) {
  return cordon::testing::compare_event_paths(body, limits, context, max_events);
}

Result<std::vector<PreparedEvent>> prepare_document(std::string_view body) {
  auto document = JsonDocument::parse(body, route_limits);
  if (!document) return tl::unexpected<Error>(document.error());
  return prepare_events(document->root(), context);
}

// Request bodies: events that are valid, nearly valid and broken in the ways clients break them,
// written with varied whitespace and escaping, then mutated byte by byte. Deterministic.
class BodyGenerator {
public:
  explicit BodyGenerator(std::uint64_t seed) : m_random(seed) {}

  std::string body() {
    if (chance(4)) return event();
    std::string out = "[";
    const int count = chance(20) ? 0 : pick(1, 4);
    for (int i = 0; i < count; ++i) {
      if (i != 0) out += comma();
      out += chance(25) ? value(2) : event();
    }
    return out + space() + "]";
  }

  // One of several damaged copies of `text`.
  std::string mutate(std::string text) {
    if (text.empty()) return "x";
    const std::size_t at = static_cast<std::size_t>(pick(0, static_cast<int>(text.size()) - 1));
    static const std::array<std::string_view, 16> insertions = {
        ",", "]", "}", "\"", "\\", ":", "[", "{", std::string_view("\0", 1), "\xff", "1e999", " ",
        "\xe2\x82", "\\ud800", "\"kind\":\"a.b\",", "tru"};
    switch (pick(0, 5)) {
    case 0: return text.substr(0, at);
    case 1: text[at] = static_cast<char>(pick(0, 255)); return text;
    case 2: return text.insert(at, insertions[static_cast<std::size_t>(pick(0, insertions.size() - 1))]);
    case 3: return text.erase(at, static_cast<std::size_t>(pick(1, 6)));
    case 4: return text.insert(at, text.substr(at, static_cast<std::size_t>(pick(1, 12))));
    default: return text + std::string(1, "} \0x"[pick(0, 3)]);
    }
  }

private:
  int pick(int low, int high) { return std::uniform_int_distribution<int>(low, high)(m_random); }
  int pick(int low, std::size_t high) { return pick(low, static_cast<int>(high)); }
  bool chance(int one_in) { return pick(1, one_in) == 1; }

  std::string space() {
    static const std::array<std::string_view, 6> spaces = {"", "", "", " ", "\n  ", "\t\r\n"};
    return std::string(spaces[static_cast<std::size_t>(pick(0, spaces.size() - 1))]);
  }
  std::string comma() { return space() + "," + space(); }

  // A JSON string literal for `text` (UTF-8), escaping some characters that need no escape.
  std::string quoted(std::string_view text) {
    std::string out = "\"";
    for (std::size_t i = 0; i < text.size(); ++i) {
      const auto byte = static_cast<unsigned char>(text[i]);
      if (byte == '"' || byte == '\\') {
        out += '\\';
        out += text[i];
      } else if (byte < 0x20) {
        static constexpr std::string_view hex = "0123456789abcdef";
        out += "\\u00";
        out += hex[byte >> 4];
        out += hex[byte & 0xf];
      } else if (byte < 0x80 && chance(20)) {
        static constexpr std::string_view hex = "0123456789ABCDEF";
        out += "\\u00";
        out += hex[byte >> 4];
        out += hex[byte & 0xf];
      } else if (byte == '/' && chance(2)) {
        out += "\\/";
      } else {
        out += text[i];
      }
    }
    return out + "\"";
  }

  // Keys whose UTF-16 order differs from their byte order, keys that share a long prefix, the
  // names the event format uses, and the empty key; distinct, but for an occasional duplicate.
  std::vector<std::string> keys(int count) {
    static const std::array<std::string_view, 24> names = {
        "a", "ab", "B", "", "b", "kind", "data", "index", "z", "\xe2\x82\xac", "\xef\xac\xb3",
        "\xf0\x9f\x98\x80", "\xef\xbf\xbd", "\xc3\xb6", "\r", "1", "a/b", "t~x", "key with space",
        std::string_view("nul\0byte", 8), "\xee\x80\x80", "\xf4\x8f\xbf\xbf", "prefix_0123456789_a",
        "prefix_0123456789_"};
    std::vector<std::string> out;
    for (const std::string_view name : names) out.emplace_back(name);
    for (int i = 0; static_cast<int>(out.size()) < count; ++i) out.push_back("k" + std::to_string(i));
    std::shuffle(out.begin(), out.end(), m_random);
    out.resize(static_cast<std::size_t>(count));
    if (count > 0 && chance(60)) out.push_back(out[static_cast<std::size_t>(pick(0, count - 1))]);
    std::shuffle(out.begin(), out.end(), m_random);
    return out;
  }

  std::string number() {
    if (chance(400)) return chance(2) ? "1e400" : "-1.8e308"; // beyond a double
    static const std::array<std::string_view, 32> numbers = {
        "0", "-0", "1", "-1", "42", "9007199254740993", "-9223372036854775808", "-9223372036854775809",
        "9223372036854775807", "9223372036854775808", "18446744073709551615", "18446744073709551616",
        "123456789012345678901234567890", "1.5", "-0.0", "0.1", "1e21", "1e-7", "1E+2", "2.5e-3",
        "5e-324", "2.4703282292062327e-324", "1.7976931348623157e308", "1e-400", "-1e-400", "333333333.33333329", "4.50", "1.0", "100e-2", "0.000001", "123e-20", "1e+021"};
    return std::string(numbers[static_cast<std::size_t>(pick(0, numbers.size() - 1))]);
  }

  std::string text_value() {
    static const std::array<std::string_view, 14> texts = {
        "hunter2", "", "line\nbreak", "quote \" and \\ backslash", "tab\there", "caf\xc3\xa9",
        "\xf0\x9f\x98\x80 grin", "\x7f del", "ctl \x01\x1f", "slash /path/", "\xe2\x80\xa8 separator",
        std::string_view("nul \0 inside", 12), "\xef\xbf\xbf", "plain text of some length, longer than eight"};
    std::string text(texts[static_cast<std::size_t>(pick(0, texts.size() - 1))]);
    if (chance(10)) return R"("\ud83d\ude00\u00e9\u20AC\b\f")";
    return quoted(text);
  }

  std::string value(int depth) {
    switch (pick(0, depth > 0 ? 7 : 4)) {
    case 0: return number();
    case 1:
    case 2: return text_value();
    case 3: return std::string(std::array<std::string_view, 3>{"true", "false", "null"}[static_cast<std::size_t>(pick(0, 2))]);
    case 4: return number();
    case 5: {
      std::string out = "[" + space();
      const int count = pick(0, 4);
      for (int i = 0; i < count; ++i) out += (i != 0 ? comma() : "") + value(depth - 1);
      return out + space() + "]";
    }
    default: return object(depth - 1);
    }
  }

  std::string object(int depth) {
    std::string out = "{" + space();
    const std::vector<std::string> names = keys(chance(20) ? pick(17, 40) : pick(0, 5));
    for (std::size_t i = 0; i < names.size(); ++i) {
      out += (i != 0 ? comma() : "") + quoted(names[i]) + space() + ":" + space() + value(depth);
    }
    return out + space() + "}";
  }

  std::string kind() {
    static const std::array<std::string_view, 5> valid = {"tool.executed", "decision.issued", "a.b", "x1.y_2.z3", "access.denied"};
    static const std::array<std::string_view, 4> invalid = {"Tool.executed", "a", "a..b", ""};
    if (chance(15)) return quoted(invalid[static_cast<std::size_t>(pick(0, invalid.size() - 1))]);
    return quoted(valid[static_cast<std::size_t>(pick(0, valid.size() - 1))]);
  }

  std::string actor() {
    static const std::array<std::string_view, 5> types = {"agent", "human", "system", "robot", ""};
    std::vector<std::string> members;
    if (!chance(30)) members.push_back("\"type\":" + quoted(types[static_cast<std::size_t>(pick(0, chance(12) ? 4 : 2))]));
    if (!chance(30)) {
      std::string id = "support-bot-" + std::to_string(pick(0, 99));
      if (chance(20)) id = std::string(static_cast<std::size_t>(pick(120, 135)), 'i');
      if (chance(10)) id = "b\xc3\xb6t \"quoted\"\n";
      if (chance(30)) id.clear();
      members.push_back("\"id\":" + (chance(30) ? number() : quoted(id)));
    }
    if (chance(40)) members.push_back("\"role\":\"admin\"");
    std::shuffle(members.begin(), members.end(), m_random);
    return "{" + join(members) + "}";
  }

  std::string run_id() {
    switch (pick(0, 9)) {
    case 0: return "null";
    case 1: return number();
    case 2: return quoted(std::string(static_cast<std::size_t>(pick(0, 130)), 'r'));
    default: return quoted("r-" + std::to_string(pick(0, 999)));
    }
  }

  // Data with strings for sensitive pointers to name, and pointers into it, mostly valid.
  std::pair<std::string, std::string> sensitive_data() {
    std::string data = "{\"a\":[\"zero\",\"one\",2],\"a/b\":\"slash\",\"t~x\":\"tilde\",\"s\":" + text_value();
    if (chance(2)) data += ",\"more\":" + object(2);
    data += "}";
    static const std::array<std::string_view, 6> valid = {"/a/0", "/a/1", "/a~1b", "/t~0x", "/s", "/s"};
    static const std::array<std::string_view, 10> invalid = {"/a/2", "/a/01", "/a/-", "/a/9", "/~2", "", "a", "/missing", "/s/x", "/more"};
    if (chance(15)) return {data, chance(2) ? "\"/s\"" : "[1]"};
    std::string pointers = "[";
    const int count = chance(30) ? 65 : pick(0, 3);
    for (int i = 0; i < count; ++i) {
      const std::string_view pointer = chance(6) ? invalid[static_cast<std::size_t>(pick(0, invalid.size() - 1))]
                                                 : valid[static_cast<std::size_t>(pick(0, valid.size() - 1))];
      pointers += (i != 0 ? "," : "") + quoted(pointer);
    }
    return {data, pointers + "]"};
  }

  std::string event() {
    std::vector<std::string> members;
    if (!chance(30)) members.push_back("\"kind\":" + (chance(30) ? number() : kind()));
    if (!chance(30)) members.push_back("\"actor\":" + (chance(30) ? text_value() : actor()));
    if (chance(2)) members.push_back("\"run_id\":" + run_id());
    if (chance(4)) {
      const auto [data, pointers] = sensitive_data();
      members.push_back("\"data\":" + data);
      members.push_back("\"sensitive\":" + pointers);
    } else if (!chance(6)) {
      members.push_back("\"data\":" + (chance(25) ? value(1) : data_object()));
    }
    if (chance(40)) members.push_back(std::array<std::string, 3>{"\"index\":1", "\"tenant\":\"x\"", "\"extra\":null"}[static_cast<std::size_t>(pick(0, 2))]);
    if (chance(60)) members.push_back("\"kind\":\"a.b\""); // a duplicate member, unless kind was left out
    std::shuffle(members.begin(), members.end(), m_random);
    return "{" + space() + join(members) + space() + "}";
  }

  // Usually a small object; sometimes one with a string that makes the leaf too large.
  std::string data_object() {
    if (chance(15)) return "{\"note\":\"" + std::string(static_cast<std::size_t>(pick(65000, 66000)), 'n') + "\"}";
    return object(3);
  }

  std::string join(const std::vector<std::string>& members) {
    std::string out;
    for (std::size_t i = 0; i < members.size(); ++i) out += (i != 0 ? comma() : "") + members[i];
    return out;
  }

  std::mt19937_64 m_random;
};

} // namespace

TEST_CASE("the two paths agree on generated and mutated request bodies") {
  BodyGenerator generator(20261121);
  std::mt19937_64 random(7);
  std::map<std::string, int> outcomes; // how many bodies ended how, so the mix can be checked
  int failures = 0;
  for (int i = 0; i < 3000 && failures < 5; ++i) {
    const std::string original = generator.body();
    std::vector<std::string> bodies = {original};
    for (int m = 0; m < 4; ++m) bodies.push_back(generator.mutate(m == 0 ? original : bodies.back()));
    for (const std::string& body : bodies) {
      // The route's limits, and tight ones that refuse some bodies as too large or too deep.
      const JsonLimits tight{.max_bytes = static_cast<std::size_t>(random() % (body.size() + 64)),
                             .max_depth = static_cast<int>(random() % 6) - 1};
      for (const bool route : {true, false}) {
        const JsonLimits& limits = route ? route_limits : tight;
        const std::size_t max_events = 1 + random() % 5;
        if (const auto different = difference(body, limits, max_events)) {
          FAIL_CHECK(*different << "\nbody: " << printable(body));
          ++failures;
        }
        if (!route) continue;
        const auto document = JsonDocument::parse(body, limits);
        const auto events = document ? prepare_events(document->root(), context, max_events)
                                     : Result<std::vector<PreparedEvent>>(tl::unexpected<Error>(document.error()));
        ++outcomes[events ? "prepared" : std::string(errc_name(events.error().code))];
      }
    }
  }
  CHECK(failures == 0);
  // The generator must exercise success and every kind of refusal, or agreement proves little.
  INFO("prepared " << outcomes["prepared"] << ", invalid_argument " << outcomes["invalid_argument"]
                   << ", unknown_field " << outcomes["unknown_field"] << ", too_large " << outcomes["too_large"]);
  CHECK(outcomes["prepared"] > 800);
  CHECK(outcomes["invalid_argument"] > 1000);
  CHECK(outcomes["unknown_field"] > 100);
  CHECK(outcomes["too_large"] > 100);
}

TEST_CASE("the document path prepares the same leaf as the Json path for every sample event") {
  for (const std::string_view body : {
           R"({"kind":"tool.executed","actor":{"type":"agent","id":"bot"},"run_id":"r-1","data":{"b":[1,2.5,true],"a":"x"}})",
           R"({"kind":"tenant.provisioned","actor":{"type":"system","id":"provisioning"}})",
           R"({"kind":"a.b","actor":{"type":"agent","id":"x"},"data":{"x":1.0,"y":1e21,"z":0.000001,"w":-0.0}})",
           R"({"kind":"a.b","actor":{"type":"agent","id":"x"},"run_id":null,"data":{"\u20ac":1,"\ud83d\ude00":2,"\ufb33":3}})",
           R"([{"kind":"a.b","actor":{"type":"agent","id":"x"}},{"kind":"a.c","actor":{"type":"human","id":"y\n"}}])",
       }) {
    INFO(body);
    const auto prepared = prepare_document(body);
    REQUIRE(prepared);
    CHECK_FALSE(difference(body));
  }
}

TEST_CASE("the document path replaces sensitive values with the same HMAC") {
  const std::string_view body = R"({"kind":"tool.executed","actor":{"type":"agent","id":"x"},
      "data":{"args":{"password":"hunter2","a/b":"slash","t~x":"tilde"},"list":["zero","one"]},
      "sensitive":["/args/password","/args/a~1b","/args/t~0x","/list/1"]})";
  const auto prepared = prepare_document(body);
  REQUIRE(prepared);
  const std::string leaf = prepared->front().compose(0, zero_hash, "2026-11-21T10:00:00.123456Z");
  CHECK(leaf.find("hunter2") == std::string::npos);
  CHECK(leaf.find("hmac-sha256:") != std::string::npos);
  CHECK_FALSE(difference(body));
}

TEST_CASE("the document path refuses with the same code and message") {
  for (const std::string_view body : {
           R"({"kind":"a.b","actor":{"type":"agent","id":"x"},"zeta":1,"extra":2,"beta":3})",
           R"({"kind":"a.b","actor":{"type":"agent","id":"x","role":"admin"}})",
           R"({"kind":"Tool","actor":{"type":"agent","id":"x"}})",
           R"({"kind":"a.b","actor":{"type":"robot","id":"x"}})",
           R"({"kind":"a.b","actor":{"type":"agent","id":""}})",
           R"({"kind":"a.b","actor":{"type":"agent","id":"x"},"run_id":5})",
           R"({"kind":"a.b","actor":{"type":"agent","id":"x"},"data":[1]})",
           R"({"kind":"a.b","actor":{"type":"agent","id":"x"},"data":{"s":"v","n":1,"l":["a"]},"sensitive":["/l/01"]})",
           R"({"kind":"a.b","actor":{"type":"agent","id":"x"},"data":{"s":"v"},"sensitive":["/s","/s"]})",
           R"({"kind":"a.b","actor":{"type":"agent","id":"x"},"sensitive":["/missing"]})",
           R"({"kind":"a.b","actor":{"type":"agent","id":"x"},"data":{"s":"v"},"sensitive":["/~2"]})",
           R"([{"kind":"a.b","actor":{"type":"agent","id":"x"}},{"kind":"a.b"}])",
           R"([])",
           R"("text")",
           R"({"kind":"a.b","kind":"a.c"})",
           R"({"kind":"a.b",)",
       }) {
    INFO(body);
    REQUIRE_FALSE(prepare_document(body));
    CHECK_FALSE(difference(body));
  }
}

TEST_CASE("a batch over max_events is too large on both paths") {
  const std::string_view body = R"([{"kind":"a.b","actor":{"type":"agent","id":"x"}},
                                    {"kind":"a.b","actor":{"type":"agent","id":"x"}}])";
  CHECK_FALSE(difference(body, route_limits, 1));
  auto document = JsonDocument::parse(body);
  REQUIRE(document);
  CHECK(prepare_events(document->root(), context, 1).error().code == Errc::too_large);
}

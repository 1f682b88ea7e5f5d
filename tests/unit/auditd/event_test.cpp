#include <catch2/catch.hpp>

#include <string>

#include "auditd/ledger/event.h"
#include "common/crypto.h"
#include "common/encoding.h"
#include "test_support.h"

using namespace cordon;
using namespace cordon::ledger;
using cordon::ledger::testing::test_salt;

namespace {

const EventContext context{"acme", "agentd", test_salt()};
constexpr std::string_view time_text = "2026-11-21T10:00:00.123456Z";

Json parse(std::string_view text) {
  auto json = parse_json(text);
  REQUIRE(json);
  return *json;
}

Error prepare_error(std::string_view text) {
  auto prepared = prepare_event(parse(text), context);
  REQUIRE_FALSE(prepared);
  return prepared.error();
}

std::string compose(std::string_view text, std::uint64_t index = 7, const Hash& prev = zero_hash) {
  auto prepared = prepare_event(parse(text), context);
  REQUIRE(prepared);
  return prepared->compose(index, prev, time_text);
}

} // namespace

TEST_CASE("a prepared event composes into the canonical leaf with members in sorted order") {
  const std::string leaf = compose(R"({"kind":"tool.executed","actor":{"type":"agent","id":"bot"},
                                       "run_id":"r-1","data":{"b":[1,2.5,true],"a":"x"}})",
                                   7, leaf_hash("previous"));
  const std::string expected =
      R"({"actor":{"id":"bot","type":"agent"},"data":{"a":"x","b":[1,2.5,true]},"index":7,)"
      R"("kind":"tool.executed","prev":")" +
      hash_to_hex(leaf_hash("previous")) +
      R"(","run_id":"r-1","source":"agentd","tenant":"acme","time":"2026-11-21T10:00:00.123456Z"})";
  CHECK(leaf == expected);
  CHECK(*canonical_json(parse(leaf)) == leaf);
}

TEST_CASE("run_id and data may be omitted and default to null and an empty object") {
  const std::string leaf = compose(R"({"kind":"tenant.provisioned","actor":{"type":"system","id":"provisioning"}})", 0);
  CHECK(leaf.find(R"("data":{},"index":0,)") != std::string::npos);
  CHECK(leaf.find(R"("prev":"0000000000000000000000000000000000000000000000000000000000000000")") != std::string::npos);
  CHECK(leaf.find(R"("run_id":null,)") != std::string::npos);
  CHECK(parse_leaf(leaf));
}

TEST_CASE("floating-point numbers in data are written in canonical form") {
  const std::string leaf = compose(R"({"kind":"a.b","actor":{"type":"agent","id":"x"},
                                       "data":{"x":1.0,"y":1e21,"z":0.000001,"w":-0.0}})");
  CHECK(leaf.find(R"("data":{"w":0,"x":1,"y":1e+21,"z":0.000001})") != std::string::npos);
  CHECK(parse_leaf(leaf));
}

TEST_CASE("unknown members and the ledger's own members are refused") {
  CHECK(prepare_error(R"({"kind":"a.b","actor":{"type":"agent","id":"x"},"extra":1})").code == Errc::unknown_field);
  for (const char* member : {"tenant", "source", "index", "time", "prev"}) {
    INFO(member);
    const std::string text = std::string(R"({"kind":"a.b","actor":{"type":"agent","id":"x"},")") + member + R"(":"forged"})";
    CHECK(prepare_error(text).code == Errc::unknown_field);
  }
  CHECK(prepare_error(R"({"kind":"a.b","actor":{"type":"agent","id":"x","role":"admin"}})").code == Errc::unknown_field);
}

TEST_CASE("kind must be a dotted lowercase name") {
  for (const char* good : {"a.b", "decision.issued", "tool.executed", "x1.y_2.z3", "approval.granted"}) {
    INFO(good);
    CHECK(is_valid_kind(good));
  }
  for (const char* bad : {"", "a", "A.b", "a.B", "a..b", ".a.b", "a.b.", "1a.b", "a.1b", "a-b.c", "a.b c",
                          "_a.b"}) {
    INFO(bad);
    CHECK_FALSE(is_valid_kind(bad));
  }
  CHECK_FALSE(is_valid_kind("a." + std::string(63, 'b')));
  CHECK(is_valid_kind("a." + std::string(62, 'b')));
  CHECK(prepare_error(R"({"kind":"Tool","actor":{"type":"agent","id":"x"}})").code == Errc::invalid_argument);
  CHECK(prepare_error(R"({"actor":{"type":"agent","id":"x"}})").code == Errc::invalid_argument);
  CHECK(prepare_error(R"({"kind":7,"actor":{"type":"agent","id":"x"}})").code == Errc::invalid_argument);
}

TEST_CASE("the actor needs a known type and a non-empty id of at most 128 bytes") {
  CHECK(prepare_error(R"({"kind":"a.b","actor":{"type":"robot","id":"x"}})").code == Errc::invalid_argument);
  CHECK(prepare_error(R"({"kind":"a.b","actor":{"type":"agent","id":""}})").code == Errc::invalid_argument);
  CHECK(prepare_error(R"({"kind":"a.b","actor":{"type":"agent"}})").code == Errc::invalid_argument);
  CHECK(prepare_error(R"({"kind":"a.b","actor":"agent"})").code == Errc::invalid_argument);
  CHECK(prepare_error(R"({"kind":"a.b"})").code == Errc::invalid_argument);
  const std::string long_id = std::string(R"({"kind":"a.b","actor":{"type":"human","id":")") + std::string(129, 'h') + "\"}}";
  CHECK(prepare_error(long_id).code == Errc::invalid_argument);
  for (const char* type : {"agent", "human", "system"}) {
    const std::string text = std::string(R"({"kind":"a.b","actor":{"type":")") + type + R"(","id":"x"}})";
    CHECK(prepare_event(parse(text), context));
  }
}

TEST_CASE("run_id is a string of 1 to 128 bytes or null") {
  CHECK(prepare_event(parse(R"({"kind":"a.b","actor":{"type":"agent","id":"x"},"run_id":null})"), context));
  CHECK(prepare_error(R"({"kind":"a.b","actor":{"type":"agent","id":"x"},"run_id":""})").code == Errc::invalid_argument);
  CHECK(prepare_error(R"({"kind":"a.b","actor":{"type":"agent","id":"x"},"run_id":5})").code == Errc::invalid_argument);
  const std::string long_run = std::string(R"({"kind":"a.b","actor":{"type":"agent","id":"x"},"run_id":")") +
                               std::string(129, 'r') + "\"}";
  CHECK(prepare_error(long_run).code == Errc::invalid_argument);
}

TEST_CASE("data must be an object") {
  CHECK(prepare_error(R"({"kind":"a.b","actor":{"type":"agent","id":"x"},"data":[1]})").code == Errc::invalid_argument);
  CHECK(prepare_error(R"({"kind":"a.b","actor":{"type":"agent","id":"x"},"data":"s"})").code == Errc::invalid_argument);
  CHECK(prepare_error(R"([1])").code == Errc::invalid_argument);
}

TEST_CASE("sensitive values are replaced by their salted HMAC before anything is stored") {
  const std::string leaf = compose(R"({"kind":"tool.executed","actor":{"type":"agent","id":"x"},
      "data":{"args":{"password":"hunter2","a/b":"slash","t~x":"tilde"},"list":["zero","one"]},
      "sensitive":["/args/password","/args/a~1b","/args/t~0x","/list/1"]})");
  const auto mac = [](std::string_view value) {
    return "hmac-sha256:" + to_hex(crypto::hmac_sha256(test_salt(), as_bytes(value)));
  };
  CHECK(leaf.find("hunter2") == std::string::npos);
  CHECK(leaf.find("\"password\":\"" + mac("hunter2") + "\"") != std::string::npos);
  CHECK(leaf.find("\"a/b\":\"" + mac("slash") + "\"") != std::string::npos);
  CHECK(leaf.find("\"t~x\":\"" + mac("tilde") + "\"") != std::string::npos);
  CHECK(leaf.find("[\"zero\",\"" + mac("one") + "\"]") != std::string::npos);
  CHECK(leaf.find("sensitive") == std::string::npos);
}

TEST_CASE("bad sensitive pointers are refused without storing anything") {
  const auto with = [](std::string_view pointers) {
    return prepare_error(std::string(R"({"kind":"a.b","actor":{"type":"agent","id":"x"},"data":{"s":"v","n":1,"l":["a"]},"sensitive":)") +
                         std::string(pointers) + "}");
  };
  CHECK(with(R"(["/missing"])").code == Errc::invalid_argument);
  CHECK(with(R"(["/n"])").code == Errc::invalid_argument);      // not a string
  CHECK(with(R"(["s"])").code == Errc::invalid_argument);       // no leading slash
  CHECK(with(R"([""])").code == Errc::invalid_argument);        // the whole object
  CHECK(with(R"(["/s","/s"])").code == Errc::invalid_argument); // twice
  CHECK(with(R"(["/l/1"])").code == Errc::invalid_argument);
  CHECK(with(R"(["/l/01"])").code == Errc::invalid_argument);
  CHECK(with(R"(["/l/-"])").code == Errc::invalid_argument);
  CHECK(with(R"(["/s/x"])").code == Errc::invalid_argument);
  CHECK(with(R"(["/~2"])").code == Errc::invalid_argument);
  CHECK(with(R"("/s")").code == Errc::invalid_argument);
  CHECK(with(R"([1])").code == Errc::invalid_argument);
}

TEST_CASE("an event whose leaf could exceed 65535 bytes is too large") {
  const auto with_note = [](std::size_t size) {
    Json input = {{"kind", "a.b"}, {"actor", {{"type", "agent"}, {"id", "x"}}}, {"data", {{"note", std::string(size, 'n')}}}};
    return prepare_event(input, context);
  };
  auto small = with_note(100);
  REQUIRE(small);
  const std::size_t overhead = small->max_leaf_size() - 100;
  auto fits = with_note(max_leaf_bytes - overhead);
  REQUIRE(fits);
  CHECK(fits->max_leaf_size() == max_leaf_bytes);
  CHECK(fits->compose(UINT64_MAX, zero_hash, time_text).size() == max_leaf_bytes);
  CHECK(with_note(max_leaf_bytes - overhead + 1).error().code == Errc::too_large);
}

TEST_CASE("a request body is one event or a non-empty array of events") {
  auto one = prepare_events(parse(R"({"kind":"a.b","actor":{"type":"agent","id":"x"}})"), context);
  REQUIRE(one);
  CHECK(one->size() == 1);
  auto many = prepare_events(parse(R"([{"kind":"a.b","actor":{"type":"agent","id":"x"}},
                                        {"kind":"a.c","actor":{"type":"agent","id":"y"}}])"),
                             context);
  REQUIRE(many);
  CHECK(many->size() == 2);
  CHECK(prepare_events(parse("[]"), context).error().code == Errc::invalid_argument);
  auto bad = prepare_events(parse(R"([{"kind":"a.b","actor":{"type":"agent","id":"x"}},{"kind":"a.b"}])"), context);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message.rfind("event 1: ", 0) == 0);
  auto too_many = prepare_events(parse(R"([{"kind":"a.b","actor":{"type":"agent","id":"x"}},
                                            {"kind":"a.b","actor":{"type":"agent","id":"x"}}])"),
                                 context, 1);
  CHECK(too_many.error().code == Errc::too_large);
}

TEST_CASE("the fast extract finds the top-level members even when data has the same names") {
  const Hash prev = leaf_hash("p");
  const std::string leaf = compose(R"({"kind":"tool.executed","actor":{"type":"agent","id":"x"},"run_id":"r \"q\"",
      "data":{"index":99,"prev":"zz","z":{",\"index\":":",\"prev\":\""}}})",
                                   123456, prev);
  auto fields = extract_leaf_fields(leaf);
  REQUIRE(fields);
  CHECK(fields->index == 123456);
  CHECK(fields->prev == prev);
  CHECK(fields->kind == "tool.executed");
  REQUIRE(fields->run_id);
  CHECK(*fields->run_id == R"(r \"q\")");
  CHECK(fields->source == "agentd");
  CHECK(fields->tenant == "acme");
  CHECK(fields->time == time_text);

  auto checked = check_leaf(leaf);
  REQUIRE(checked);
  CHECK(checked->index == 123456);
  CHECK(checked->prev == prev);
}

TEST_CASE("the fast paths refuse leaves that are not exactly the format") {
  const std::string good = compose(R"({"kind":"a.b","actor":{"type":"agent","id":"x"},"data":{"k":[1,{"v":null}]}})");
  REQUIRE(extract_leaf_fields(good));
  REQUIRE(check_leaf(good));
  const auto replaced = [&](std::string_view from, std::string_view to) {
    std::string copy = good;
    const auto at = copy.find(from);
    REQUIRE(at != std::string::npos);
    copy.replace(at, from.size(), to);
    return copy;
  };
  for (const std::string& bad : {
           good + "x", good.substr(0, good.size() - 1), replaced(",\"index\":7", ",\"index\":07"),
           replaced(",\"index\":7", ",\"index\": 7"), replaced("\"kind\":\"a.b\"", "\"kind\":\"A.b\""),
           replaced("\"prev\":\"0", "\"prev\":\"O"), replaced("\"run_id\":null", "\"run_id\":nul"),
           replaced("10:00:00.123456Z", "10:00:00.12345Z"), replaced("10:00:00", "25:00:00"),
           replaced("\"tenant\":\"acme\"", "\"tenant\":\"ac\nme\""), replaced("\"source\":", "\"origin\":")}) {
    INFO(bad);
    CHECK_FALSE(extract_leaf_fields(bad));
    CHECK_FALSE(check_leaf(bad));
  }
  // Only the forward check looks at actor and data.
  for (const std::string& bad : {
           replaced("\"type\":\"agent\"", "\"type\":\"robot\""), replaced("{\"v\":null}", "{\"v\":nul}"),
           replaced("[1,", "[1 ,"), replaced("[1,", "[01,"), replaced("{\"v\"", "{v"),
           replaced("\"k\":[1,{\"v\":null}]", "\"k\":[1,{\"v\":null}"), replaced("\"id\":\"x\"", "\"id\":\"\xff\""),
           replaced("\"id\":\"x\"", "\"id\":\"\\q\"")}) {
    INFO(bad);
    CHECK_FALSE(check_leaf(bad));
  }
}

TEST_CASE("the full parse returns every field and refuses non-canonical bytes") {
  const Hash prev = leaf_hash("p");
  const std::string leaf = compose(R"({"kind":"approval.granted","actor":{"type":"human","id":"alice"},"run_id":"r-9",
                                       "data":{"approval":"a-1"}})",
                                   42, prev);
  auto event = parse_leaf(leaf);
  REQUIRE(event);
  CHECK(event->index == 42);
  CHECK(event->prev == prev);
  CHECK(event->kind == "approval.granted");
  CHECK(event->actor.type == ActorType::human);
  CHECK(event->actor.id == "alice");
  CHECK(event->run_id == std::optional<std::string>("r-9"));
  CHECK(event->source == "agentd");
  CHECK(event->tenant == "acme");
  CHECK(event->time == time_text);
  CHECK(event->data == Json{{"approval", "a-1"}});

  std::string spaced = leaf;
  spaced.insert(1, " ");
  CHECK_FALSE(parse_leaf(spaced));
  const std::string unsorted = R"({"data":{},"actor":{"id":"x","type":"agent"},"index":0,"kind":"a.b","prev":")" +
                               std::string(64, '0') +
                               R"(","run_id":null,"source":"s","tenant":"t","time":"2026-11-21T10:00:00.123456Z"})";
  CHECK_FALSE(parse_leaf(unsorted));
  std::string impossible_day = leaf;
  impossible_day.replace(impossible_day.find("2026-11-21"), 10, "2026-02-30");
  CHECK_FALSE(parse_leaf(impossible_day));
  CHECK_FALSE(parse_leaf(leaf.substr(0, leaf.size() - 1)));
}

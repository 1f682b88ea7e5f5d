// The query parsers of auditd's read routes: GET /v1/events, /v1/proof/inclusion and
// /v1/proof/consistency. Numbers are plain decimals, bounds follow the tree, unknown or empty
// parameters are refused.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "auditd/api.h"
#include "common/ipc/http.h"

using namespace cordon;
using namespace cordon::auditd;

namespace {

// The query map the server builds from a request target, as the routes receive it.
ipc::QueryMap query_of(const std::string& target) {
  std::string path;
  ipc::QueryMap query;
  auto parsed = ipc::parse_target(target, path, query);
  INFO(target);
  REQUIRE(parsed);
  return query;
}

template <class T>
void require_refused(const Result<T>& result, Errc code = Errc::invalid_argument) {
  REQUIRE_FALSE(result);
  INFO(result.error().message);
  CHECK(result.error().code == code);
  CHECK_FALSE(result.error().message.empty());
}

// Spellings of a number that are not the one canonical decimal form.
// "%2B1" decodes to "+1" and "+1" to " 1"; "%EF%BC%91" is a fullwidth digit one.
const std::vector<std::string> non_decimals = {
    "", "a", "1a", "a1", "0x1", "1.0", "1e3", "-1", "-0", "%2B1", "+1", "%201", "1%20", "01", "00", "007",
    "%EF%BC%91", "1,2", "%00", "1%001"};

} // namespace

TEST_CASE("events query defaults to the whole tree, the full page and no filter") {
  const auto query = parse_events_query(query_of("/v1/events"), 42);
  REQUIRE(query);
  CHECK(query->from == 0);
  CHECK(query->to == 42);
  CHECK(query->limit == max_events_page);
  CHECK_FALSE(query->filter.kind);
  CHECK_FALSE(query->filter.run_id);
  CHECK_FALSE(query->filter.source);
}

TEST_CASE("events query reads from, to, limit and the three filters") {
  const auto query =
      parse_events_query(query_of("/v1/events?from=2&to=5&limit=3&kind=tool.executed&run_id=r-7&source=agentd"), 10);
  REQUIRE(query);
  CHECK(query->from == 2);
  CHECK(query->to == 5);
  CHECK(query->limit == 3);
  CHECK(query->filter.kind == "tool.executed");
  CHECK(query->filter.run_id == "r-7");
  CHECK(query->filter.source == "agentd");
}

TEST_CASE("events query filter values are percent-decoded") {
  const auto query = parse_events_query(query_of("/v1/events?run_id=r%2D1+x"), 1);
  REQUIRE(query);
  CHECK(query->filter.run_id == "r-1 x");
}

TEST_CASE("events query range may be empty or reach the tree size, never beyond") {
  CHECK(parse_events_query(query_of("/v1/events?from=5&to=5"), 10));
  CHECK(parse_events_query(query_of("/v1/events?from=10&to=10"), 10));
  CHECK(parse_events_query(query_of("/v1/events?from=10"), 10));
  CHECK(parse_events_query(query_of("/v1/events?from=0&to=10"), 10));
  require_refused(parse_events_query(query_of("/v1/events?from=6&to=5"), 10));
  require_refused(parse_events_query(query_of("/v1/events?to=11"), 10));
  require_refused(parse_events_query(query_of("/v1/events?from=11"), 10));
  require_refused(parse_events_query(query_of("/v1/events?from=11&to=11"), 10));
}

TEST_CASE("events query over the empty tree allows only the empty range") {
  const auto query = parse_events_query(query_of("/v1/events"), 0);
  REQUIRE(query);
  CHECK(query->from == 0);
  CHECK(query->to == 0);
  CHECK(parse_events_query(query_of("/v1/events?from=0&to=0"), 0));
  require_refused(parse_events_query(query_of("/v1/events?from=1"), 0));
  require_refused(parse_events_query(query_of("/v1/events?to=1"), 0));
}

TEST_CASE("events query limit is 1 to 10000") {
  CHECK(parse_events_query(query_of("/v1/events?limit=1"), 0)->limit == 1);
  CHECK(parse_events_query(query_of("/v1/events?limit=10000"), 0)->limit == 10000);
  require_refused(parse_events_query(query_of("/v1/events?limit=0"), 0));
  require_refused(parse_events_query(query_of("/v1/events?limit=10001"), 0));
  require_refused(parse_events_query(query_of("/v1/events?limit=18446744073709551615"), 0));
}

TEST_CASE("events query numbers must be plain decimals") {
  for (const auto& name : {"from", "to", "limit"}) {
    for (const auto& value : non_decimals) {
      const std::string target = "/v1/events?" + std::string(name) + "=" + value;
      INFO(target);
      require_refused(parse_events_query(query_of(target), 100));
    }
    // A name without '=' has an empty value.
    require_refused(parse_events_query(query_of("/v1/events?" + std::string(name)), 100));
  }
}

TEST_CASE("events query numbers beyond 64 bits are refused as malformed, not wrapped") {
  auto query = parse_events_query(query_of("/v1/events?to=18446744073709551616"), 100);
  require_refused(query);
  CHECK(query.error().message.find("decimal number") != std::string::npos);
  query = parse_events_query(query_of("/v1/events?from=99999999999999999999999"), 100);
  require_refused(query);
  CHECK(query.error().message.find("decimal number") != std::string::npos);
  // The largest 64-bit number is well formed; it is refused only for being beyond the tree.
  query = parse_events_query(query_of("/v1/events?to=18446744073709551615"), 100);
  require_refused(query);
  CHECK(query.error().message.find("beyond the tree") != std::string::npos);
}

TEST_CASE("events query filters may not be empty") {
  for (const auto& target : {"/v1/events?kind=", "/v1/events?run_id=", "/v1/events?source=", "/v1/events?kind",
                             "/v1/events?from=0&source="}) {
    INFO(target);
    require_refused(parse_events_query(query_of(target), 10));
  }
}

TEST_CASE("events query refuses unknown parameters, matched case-sensitively") {
  for (const auto& target : {"/v1/events?offset=1", "/v1/events?From=1", "/v1/events?kind=a.b&actor=x",
                             "/v1/events?tenant=acme", "/v1/events?index=0"}) {
    INFO(target);
    require_refused(parse_events_query(query_of(target), 10), Errc::unknown_field);
  }
}

TEST_CASE("a parameter given twice never reaches the parsers") {
  for (const auto& target : {"/v1/events?from=1&from=2", "/v1/events?from=1&from=1", "/v1/events?kind=a.b&kind=c.d",
                             "/v1/proof/inclusion?index=0&size=1&size=1", "/v1/proof/consistency?old=1&new=2&old=2",
                             "/v1/events?from=1&%66rom=2"}) {
    INFO(target);
    std::string path;
    ipc::QueryMap query;
    auto parsed = ipc::parse_target(target, path, query);
    REQUIRE_FALSE(parsed);
    CHECK(parsed.error().code == Errc::invalid_argument);
  }
}

TEST_CASE("inclusion query needs index < size <= tree size") {
  const auto query = parse_inclusion_query(query_of("/v1/proof/inclusion?index=3&size=8"), 10);
  REQUIRE(query);
  CHECK(query->index == 3);
  CHECK(query->size == 8);
  CHECK(parse_inclusion_query(query_of("/v1/proof/inclusion?index=0&size=1"), 1));
  CHECK(parse_inclusion_query(query_of("/v1/proof/inclusion?index=9&size=10"), 10));
  require_refused(parse_inclusion_query(query_of("/v1/proof/inclusion?index=10&size=10"), 10));
  require_refused(parse_inclusion_query(query_of("/v1/proof/inclusion?index=0&size=11"), 10));
  require_refused(parse_inclusion_query(query_of("/v1/proof/inclusion?index=5&size=3"), 10));
  require_refused(parse_inclusion_query(query_of("/v1/proof/inclusion?index=0&size=0"), 10));
}

TEST_CASE("inclusion query over the empty tree is always refused") {
  require_refused(parse_inclusion_query(query_of("/v1/proof/inclusion?index=0&size=0"), 0));
  require_refused(parse_inclusion_query(query_of("/v1/proof/inclusion?index=0&size=1"), 0));
}

TEST_CASE("inclusion query needs both parameters, as plain decimals, and nothing else") {
  require_refused(parse_inclusion_query(query_of("/v1/proof/inclusion"), 10));
  require_refused(parse_inclusion_query(query_of("/v1/proof/inclusion?index=0"), 10));
  require_refused(parse_inclusion_query(query_of("/v1/proof/inclusion?size=1"), 10));
  require_refused(parse_inclusion_query(query_of("/v1/proof/inclusion?index=0&size=1&from=0"), 10),
                  Errc::unknown_field);
  require_refused(parse_inclusion_query(query_of("/v1/proof/inclusion?index=0&size=1&Size=1"), 10),
                  Errc::unknown_field);
  for (const auto& value : non_decimals) {
    INFO(value);
    require_refused(parse_inclusion_query(query_of("/v1/proof/inclusion?index=" + value + "&size=5"), 10));
    require_refused(parse_inclusion_query(query_of("/v1/proof/inclusion?index=0&size=" + value), 10));
  }
  require_refused(parse_inclusion_query(query_of("/v1/proof/inclusion?index=0&size=18446744073709551616"), 10));
  require_refused(parse_inclusion_query(query_of("/v1/proof/inclusion?index=18446744073709551616&size=5"), 10));
}

TEST_CASE("consistency query needs 0 < old <= new <= tree size") {
  const auto query = parse_consistency_query(query_of("/v1/proof/consistency?old=3&new=8"), 10);
  REQUIRE(query);
  CHECK(query->old_size == 3);
  CHECK(query->new_size == 8);
  CHECK(parse_consistency_query(query_of("/v1/proof/consistency?old=1&new=1"), 1));
  CHECK(parse_consistency_query(query_of("/v1/proof/consistency?old=10&new=10"), 10));
  require_refused(parse_consistency_query(query_of("/v1/proof/consistency?old=0&new=5"), 10));
  require_refused(parse_consistency_query(query_of("/v1/proof/consistency?old=0&new=0"), 10));
  require_refused(parse_consistency_query(query_of("/v1/proof/consistency?old=6&new=5"), 10));
  require_refused(parse_consistency_query(query_of("/v1/proof/consistency?old=5&new=11"), 10));
  require_refused(parse_consistency_query(query_of("/v1/proof/consistency?old=11&new=11"), 10));
}

TEST_CASE("consistency query over the empty tree is always refused") {
  require_refused(parse_consistency_query(query_of("/v1/proof/consistency?old=0&new=0"), 0));
  require_refused(parse_consistency_query(query_of("/v1/proof/consistency?old=1&new=1"), 0));
}

TEST_CASE("consistency query needs both parameters, as plain decimals, and nothing else") {
  require_refused(parse_consistency_query(query_of("/v1/proof/consistency"), 10));
  require_refused(parse_consistency_query(query_of("/v1/proof/consistency?old=1"), 10));
  require_refused(parse_consistency_query(query_of("/v1/proof/consistency?new=1"), 10));
  require_refused(parse_consistency_query(query_of("/v1/proof/consistency?old=1&new=2&first=1"), 10),
                  Errc::unknown_field);
  for (const auto& value : non_decimals) {
    INFO(value);
    require_refused(parse_consistency_query(query_of("/v1/proof/consistency?old=" + value + "&new=5"), 10));
    require_refused(parse_consistency_query(query_of("/v1/proof/consistency?old=1&new=" + value), 10));
  }
  require_refused(parse_consistency_query(query_of("/v1/proof/consistency?old=1&new=18446744073709551617"), 10));
}

TEST_CASE("acknowledgements and proof hashes have their documented JSON form") {
  CHECK(ack_json(ledger::Ack{7, std::string(64, 'a')}) == Json{{"index", 7}, {"leaf_hash", std::string(64, 'a')}});
  CHECK(hashes_json({}) == Json::array());
  ledger::Hash zeros{};
  ledger::Hash ones{};
  ones.fill(0xff);
  const std::vector<ledger::Hash> hashes{zeros, ones};
  CHECK(hashes_json(hashes) == Json{std::string(43, 'A') + "=", std::string(42, '/') + "8="});
}

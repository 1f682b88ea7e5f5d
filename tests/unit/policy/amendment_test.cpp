// "Approve and amend": the rule an approver's answer adds, and which holds it can lift.
#include <catch2/catch.hpp>

#include "approvald/policy/amendment.h"
#include "tests/unit/policy/policy_fixtures.h"

using namespace cordon;
using namespace cordon::approvald;
using namespace cordon::approvald::testing;

namespace {

// The constitution `base` with the amendment for `proposal` appended.
Constitution amended(const std::string& base, const Proposal& proposal) {
  return constitution_of(base + "\n" + amendment_rule(proposal, "amend-1", "Allowed by alice.").value());
}

const char* nothing_for_reads = "[[rule]]\nid='writes'\ndescription='d'\neffect='require_approval'\ntools=['fs.write']\n";

} // namespace

TEST_CASE("only holds for want of a rule can be lifted by an amendment") {
  CHECK(amendable(Json::array({"constitution.no_match"})));
  CHECK(amendable(Json::array({"constitution.no_match", "floor.dry_run"})));
  CHECK_FALSE(amendable(Json::array({"constitution.no_match", "floor.sql_write"})));
  CHECK_FALSE(amendable(Json::array({"review-writes"})));
  CHECK_FALSE(amendable(Json::array()));
}

TEST_CASE("an amendment for a file allows its directory, and nothing beside it") {
  const auto proposal = proposal_of("fs.read", {{"path", "docs/guide/intro.md"}});
  const auto constitution = amended(nothing_for_reads, proposal);
  CHECK(evaluated(constitution, proposal).verdict == Effect::allow);
  CHECK(evaluated(constitution, proposal_of("fs.read", {{"path", "docs/guide/other.md"}})).verdict == Effect::allow);
  CHECK(evaluated(constitution, proposal_of("fs.read", {{"path", "docs/guide/deeper/x.md"}})).verdict != Effect::allow);
  CHECK(evaluated(constitution, proposal_of("fs.read", {{"path", "src/main.c"}})).verdict != Effect::allow);
}

TEST_CASE("an amendment for SQL allows read-only SQL on that database only, and never lowers the floor") {
  const auto proposal = proposal_of("sql.query", {{"database", "reports"}, {"sql", "SELECT 1"}});
  const auto constitution = amended(nothing_for_reads, proposal);
  CHECK(evaluated(constitution, proposal_of("sql.query", {{"database", "reports"}, {"sql", "SELECT 2"}})).verdict == Effect::allow);
  CHECK(evaluated(constitution, proposal_of("sql.query", {{"database", "app"}, {"sql", "SELECT 2"}})).verdict != Effect::allow);
  CHECK(evaluated(constitution, proposal_of("sql.query", {{"database", "reports"}, {"sql", "DELETE FROM t"}})).verdict != Effect::allow);
}

TEST_CASE("an amendment for HTTP allows that method to that host") {
  const auto proposal = proposal_of("http.request", {{"method", "GET"}, {"url", "https://Status.Example.com/v1"}});
  const auto constitution = amended(nothing_for_reads, proposal);
  CHECK(evaluated(constitution, proposal_of("http.request", {{"method", "GET"}, {"url", "https://status.example.com/v2"}})).verdict == Effect::allow);
  CHECK(evaluated(constitution, proposal_of("http.request", {{"method", "POST"}, {"url", "https://status.example.com/v2"}})).verdict != Effect::allow);
  CHECK(evaluated(constitution, proposal_of("http.request", {{"method", "GET"}, {"url", "https://other.example.com/"}})).verdict != Effect::allow);
}

TEST_CASE("values from the agent are escaped in the rule, and glob characters in a directory are refused") {
  const auto tricky = proposal_of("fs.write", {{"path", "a\"b\\\n/x"}, {"content", ""}});
  const auto rule = amendment_rule(tricky, "amend-2", "d").value();
  CHECK(constitution_of(rule).rules.size() == 1); // it parses: nothing broke out of its string
  CHECK(amendment_rule(proposal_of("fs.read", {{"path", "*/secret"}}), "amend-3", "d").error().code == Errc::invalid_argument);
}

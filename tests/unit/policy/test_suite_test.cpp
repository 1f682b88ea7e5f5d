// Decision test cases (cordon-policy test): loading, running, failures and coverage.
#include <catch2/catch.hpp>

#include "approvald/policy/test_suite.h"
#include "tests/unit/policy/policy_fixtures.h"

using namespace cordon;
using namespace cordon::approvald;
using namespace cordon::approvald::testing;

namespace {

const char* two_rules = R"(
[[rule]]
id = "reads"
description = "d"
effect = "allow"
tools = ["fs.read"]

[[rule]]
id = "never-used"
description = "d"
effect = "deny"
tools = ["git.push"]
)";

std::vector<PolicyTestCase> cases_of(const std::string& text) { return parse_test_cases("cases.toml", text).value(); }

} // namespace

TEST_CASE("a passing case records no failure and counts the rules it matched") {
  const auto cases = cases_of(R"(
[[case]]
name = "read"
tool = "fs.read"
arguments = { path = "a" }
expect = { verdict = "allow", rules = ["reads"] }
)");
  const auto suite = run_test_cases(constitution_of(two_rules), cases);
  CHECK(suite.failed == 0);
  CHECK(suite.rule_hits.at("reads") == 1);
  CHECK(suite.rule_hits.at("never-used") == 0);
  CHECK(suite.covered == 1);
  CHECK(suite.coverage_percent == Approx(50.0));
}

TEST_CASE("a wrong verdict, wrong rules or a missing citation fail the case and say what came out") {
  const auto cases = cases_of(R"(
[[case]]
name = "wrong verdict"
tool = "fs.read"
arguments = { path = "a" }
expect = { verdict = "deny" }

[[case]]
name = "wrong rules"
tool = "fs.read"
arguments = { path = "a" }
expect = { verdict = "allow", rules = ["other"] }

[[case]]
name = "missing citation"
tool = "fs.read"
arguments = { path = "a" }
expect = { verdict = "allow", cites = ["floor.confidence"], not_cites = ["reads"] }
)");
  const auto suite = run_test_cases(constitution_of(two_rules), cases);
  REQUIRE(suite.failed == 3);
  CHECK_THAT(suite.cases[0].failures[0], Catch::Contains("expected verdict deny, got allow citing [reads]"));
  CHECK_THAT(suite.cases[1].failures[0], Catch::Contains("expected the rules [other], got [reads]"));
  REQUIRE(suite.cases[2].failures.size() == 2);
  CHECK_THAT(suite.cases[2].failures[0], Catch::Contains("floor.confidence"));
  CHECK_THAT(suite.cases[2].failures[1], Catch::Contains("reads not to be cited"));
}

TEST_CASE("a case may expect a refusal, and fails when the proposal is judged instead") {
  const auto cases = cases_of(R"(
[[case]]
name = "unknown"
tool = "shell.exec"
expect = { error = "unknown tool" }

[[case]]
name = "known"
tool = "fs.read"
arguments = { path = "a" }
expect = { error = "unknown tool" }
)");
  const auto suite = run_test_cases(constitution_of(two_rules), cases);
  CHECK(suite.cases[0].failures.empty());
  REQUIRE(suite.cases[1].failures.size() == 1);
  CHECK_THAT(suite.cases[1].failures[0], Catch::Contains("got verdict allow"));
}

TEST_CASE("pending is accepted for require_approval, and the dry-run mode is a case's choice") {
  const auto cases = cases_of(R"(
[[case]]
name = "held"
tool = "git.delete_branch"
arguments = { repo = "r", branch = "b" }
mode = "dry_run"
expect = { verdict = "deny", cites = ["floor.branch_delete", "floor.dry_run"] }

[[case]]
name = "unmatched"
tool = "fs.write"
arguments = { path = "a", content = "" }
expect = { verdict = "pending", rules = ["constitution.no_match"] }
)");
  CHECK(run_test_cases(constitution_of(two_rules), cases).failed == 0);
}

TEST_CASE("malformed test cases are refused naming the file and the case") {
  CHECK_THAT(parse_test_cases("c.toml", "[[case]]\ntool = 'fs.read'\nexpect = { verdict = 'allow' }\n").error().message,
             Catch::Contains("c.toml: case #1 needs a name"));
  CHECK_THAT(parse_test_cases("c.toml", "[[case]]\nname = 'x'\ntool = 'fs.read'\n").error().message,
             Catch::Contains("needs an [case.expect] table"));
  CHECK_THAT(parse_test_cases("c.toml", "[[case]]\nname = 'x'\ntool = 'fs.read'\nexpect = { verdict = 'maybe' }\n").error().message,
             Catch::Contains("expect.verdict is allow"));
  CHECK(parse_test_cases("c.toml", "[[case]]\nname = 'x'\ntool = 'fs.read'\nspeed = 1\nexpect = { verdict = 'allow' }\n").error().code ==
        Errc::unknown_field);
}

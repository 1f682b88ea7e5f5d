// Evaluating proposals against a constitution (DESIGN.md §5.3).
#include <catch2/catch.hpp>

#include "common/decision/decision_packet.h"
#include "tests/unit/policy/policy_fixtures.h"

using namespace cordon;
using namespace cordon::approvald;
using namespace cordon::approvald::testing;

namespace {

const char* layered = R"(
[[rule]]
id = "read-code"
description = "Reading sources is safe."
effect = "allow"
tools = ["fs.read"]
conditions.glob = { "arguments.path" = "src/**" }

[[rule]]
id = "no-secrets-dir"
description = "Nothing under secrets/."
effect = "deny"
tools = ["fs.*"]
conditions.prefix = { "arguments.path" = "secrets/" }

[[rule]]
id = "review-writes"
description = "A reviewer approves writes."
effect = "require_approval"
tools = ["fs.write"]
approval = { count = 1, group = "reviewers" }

[[rule]]
id = "allow-writes-in-tmp"
description = "Scratch space."
effect = "allow"
tools = ["fs.write"]
conditions.prefix = { "arguments.path" = "tmp/" }
)";

} // namespace

TEST_CASE("a matching allow rule allows and is cited") {
  const auto evaluation = evaluated(constitution_of(layered), proposal_of("fs.read", {{"path", "src/main.c"}}));
  CHECK(evaluation.verdict == Effect::allow);
  CHECK(evaluation.rules == std::vector<std::string>{"read-code"});
  CHECK(evaluation.approvals.empty());
}

TEST_CASE("no matching rule means a human decides") {
  const auto evaluation = evaluated(constitution_of(layered), proposal_of("fs.read", {{"path", "build/x.o"}}));
  CHECK(evaluation.verdict == Effect::require_approval);
  CHECK(evaluation.rules == std::vector<std::string>{"constitution.no_match"});
  REQUIRE(evaluation.approvals.size() == 1);
  CHECK(evaluation.approvals[0] == ApprovalRequirement{});
}

TEST_CASE("deny beats require_approval beats allow, and only the winning effect's rules are cited") {
  const auto constitution = constitution_of(layered);
  const auto both = evaluated(constitution, proposal_of("fs.write", {{"path", "tmp/x"}, {"content", ""}}));
  CHECK(both.verdict == Effect::require_approval);
  CHECK(both.rules == std::vector<std::string>{"review-writes"});
  CHECK(both.matched_rules == std::vector<std::string>{"review-writes", "allow-writes-in-tmp"});
  REQUIRE(both.approvals.size() == 1);
  CHECK(both.approvals[0].group == "reviewers");

  const auto denied = evaluated(constitution, proposal_of("fs.write", {{"path", "secrets/k"}, {"content", ""}}));
  CHECK(denied.verdict == Effect::deny);
  CHECK(denied.rules == std::vector<std::string>{"no-secrets-dir"});
  CHECK(denied.approvals.empty());
}

TEST_CASE("the evaluation carries the action digest of the proposal and the policy version") {
  const auto constitution = constitution_of(layered);
  const auto proposal = proposal_of("fs.read", {{"path", "src/a"}});
  const auto evaluation = evaluated(constitution, proposal);
  CHECK(evaluation.action_digest == decision::action_digest("acme", proposal.action()).value());
  CHECK(evaluation.policy_version == constitution.version);
}

TEST_CASE("conditions on a list field hold when any element matches, negations when none does") {
  const auto constitution = constitution_of(R"(
[[rule]]
id = "billing-reads"
description = "d"
effect = "deny"
tools = ["sql.query"]
conditions.glob = { "sql.relations" = "billing.*" }

[[rule]]
id = "other-reads"
description = "d"
effect = "allow"
tools = ["sql.query"]
conditions.equals = { "sql.read_only" = true }
conditions.not_glob = { "sql.relations" = "billing.*" }
)");
  const auto billing = evaluated(constitution, proposal_of("sql.query", {{"database", "main"}, {"sql", "SELECT * FROM users JOIN billing.cards USING (id)"}}));
  CHECK(billing.verdict == Effect::deny);
  const auto users = evaluated(constitution, proposal_of("sql.query", {{"database", "main"}, {"sql", "SELECT * FROM users"}}));
  CHECK(users.verdict == Effect::allow);
  CHECK(users.rules == std::vector<std::string>{"other-reads"});
}

TEST_CASE("an absent field satisfies no condition, not even a negated one, except present = false") {
  const auto constitution = constitution_of(R"(
[[rule]]
id = "not-main"
description = "d"
effect = "allow"
tools = ["fs.read"]
conditions.not_equals = { "target.branch" = "main" }

[[rule]]
id = "no-limit"
description = "d"
effect = "deny"
tools = ["fs.read"]
conditions.present = { "arguments.max_bytes" = false }
)");
  const auto evaluation = evaluated(constitution, proposal_of("fs.read", {{"path", "a"}}));
  CHECK(evaluation.matched_rules == std::vector<std::string>{"no-limit"});
  auto with_target = proposal_of("fs.read", {{"path", "a"}, {"max_bytes", 10}});
  with_target.target = {{"branch", "dev"}};
  CHECK(evaluated(constitution, with_target).matched_rules == std::vector<std::string>{"not-main"});
}

TEST_CASE("numeric conditions compare integers and never strings") {
  const auto constitution = constitution_of(R"(
[[rule]]
id = "small"
description = "d"
effect = "allow"
tools = ["fs.read"]
conditions.numeric_le = { "arguments.max_bytes" = 4096 }
)");
  CHECK(evaluated(constitution, proposal_of("fs.read", {{"path", "a"}, {"max_bytes", 4096}})).verdict == Effect::allow);
  CHECK(evaluated(constitution, proposal_of("fs.read", {{"path", "a"}, {"max_bytes", 4097}})).verdict == Effect::require_approval);
  CHECK(evaluated(constitution, proposal_of("fs.read", {{"path", "a"}, {"max_bytes", "1"}})).verdict == Effect::require_approval);
}

TEST_CASE("equals does not convert between types") {
  const auto constitution = constitution_of(R"(
[[rule]]
id = "one"
description = "d"
effect = "allow"
tools = ["fs.read"]
conditions.equals = { "arguments.max_bytes" = 1 }
)");
  CHECK(evaluated(constitution, proposal_of("fs.read", {{"path", "a"}, {"max_bytes", 1}})).verdict == Effect::allow);
  CHECK(evaluated(constitution, proposal_of("fs.read", {{"path", "a"}, {"max_bytes", "1"}})).verdict != Effect::allow);
}

TEST_CASE("no_untrusted_data_in holds only while the named arguments are untainted") {
  const auto constitution = constitution_of(R"(
[[rule]]
id = "clean-reads"
description = "d"
effect = "allow"
tools = ["fs.read"]
conditions.no_untrusted_data_in = ["path"]
)");
  auto proposal = proposal_of("fs.read", {{"path", "a"}});
  CHECK(evaluated(constitution, proposal).verdict == Effect::allow);
  proposal.observed.tainted_arguments = {"path"};
  CHECK(evaluated(constitution, proposal).verdict == Effect::require_approval);
}

TEST_CASE("conditions on the agent, the mode and nested arguments select rules") {
  const auto constitution = constitution_of(R"(
[[rule]]
id = "bot-reads-live"
description = "d"
effect = "allow"
tools = ["http.request"]
conditions.equals = { "agent" = "support-bot", "mode" = "live", "arguments.method" = "GET" }
conditions.glob = { "arguments.headers.accept" = "application/*" }
)");
  auto proposal = proposal_of("http.request", {{"method", "GET"}, {"url", "https://api.example.com/x"}, {"headers", {{"accept", "application/json"}}}});
  CHECK(evaluated(constitution, proposal).verdict == Effect::allow);
  CHECK(evaluated(constitution, proposal, TenantMode::dry_run).matched_rules.empty());
  proposal.agent = "other-bot";
  CHECK(evaluated(constitution, proposal).matched_rules.empty());
}

TEST_CASE("in dry-run mode the verdict stands and the decision cites floor.dry_run") {
  const auto evaluation = evaluated(constitution_of(layered), proposal_of("fs.read", {{"path", "src/a"}}), TenantMode::dry_run);
  CHECK(evaluation.verdict == Effect::allow);
  CHECK(evaluation.mode == TenantMode::dry_run);
  CHECK(cites(evaluation, "floor.dry_run"));
}

TEST_CASE("an unknown tool, a stale tool pin or unparsable SQL cannot be judged") {
  const auto constitution = constitution_of(allow_everything);
  auto unknown = evaluate(constitution, proposal_of("shell.exec", {{"cmd", "ls"}}), "acme", TenantMode::live);
  CHECK(unknown.error().code == Errc::invalid_argument);
  CHECK_THAT(unknown.error().message, Catch::Contains("unknown tool \"shell.exec\""));
  auto stale = proposal_of("fs.read", {{"path", "a"}});
  stale.tool_pin = "sha256:" + std::string(64, '0');
  CHECK_THAT(evaluate(constitution, stale, "acme", TenantMode::live).error().message, Catch::Contains("tool_pin"));
  auto bad_sql = evaluate(constitution, proposal_of("sql.query", {{"database", "main"}, {"sql", "SELEC 1"}}), "acme", TenantMode::live);
  CHECK_THAT(bad_sql.error().message, Catch::Contains("does not parse"));
}

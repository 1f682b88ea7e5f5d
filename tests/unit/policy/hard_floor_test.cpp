// The hard floor (DESIGN.md §5.3): one test per floor, each against a constitution that tries to
// allow the call outright. The floor must still hold it for a human or deny it, and say why.
#include <catch2/catch.hpp>

#include "approvald/policy/hard_floor.h"
#include "tests/unit/policy/policy_fixtures.h"

using namespace cordon;
using namespace cordon::approvald;
using namespace cordon::approvald::testing;

namespace {

Evaluation against_allow_all(const Proposal& proposal) {
  return evaluated(constitution_of(allow_everything), proposal);
}

void check_floor(const Evaluation& evaluation, const std::string& floor, Effect effect) {
  INFO(floor);
  CHECK(evaluation.verdict == effect);
  CHECK(cites(evaluation, floor));
  CHECK(cites(evaluation, "allow-all")); // the constitution's allow is cited, and overridden
}

const Json push = {{"repo", "acme/api"}, {"branch", "main"}, {"head", std::string(40, 'a')}};

} // namespace

TEST_CASE("a call the floor does not touch is allowed by an allow rule, citing only that rule") {
  const auto evaluation = against_allow_all(proposal_of("sql.query", {{"database", "main"}, {"sql", "SELECT 1"}}));
  CHECK(evaluation.verdict == Effect::allow);
  CHECK(evaluation.rules == std::vector<std::string>{"allow-all"});
}

TEST_CASE("floor.sql_write: destructive SQL is never autonomous") {
  for (const char* sql : {"DELETE FROM users", "DROP TABLE users", "GRANT ALL ON users TO bob",
                          "SELECT * FROM users FOR UPDATE", "SELECT pg_sleep(10)",
                          "WITH gone AS (DELETE FROM t RETURNING *) SELECT * FROM gone"}) {
    INFO(sql);
    const auto evaluation = against_allow_all(proposal_of("sql.query", {{"database", "main"}, {"sql", sql}}));
    check_floor(evaluation, "floor.sql_write", Effect::require_approval);
    CHECK(evaluation.facts.sql_read_only == false);
  }
}

TEST_CASE("floor.irreversible: a tool declared irreversible needs a human") {
  check_floor(against_allow_all(proposal_of("fs.delete", {{"path", "old.log"}})), "floor.irreversible", Effect::require_approval);
}

TEST_CASE("floor.sensitive_resource: resources tagged auth, payments or pii need a human") {
  const auto constitution = constitution_of(std::string(allow_everything) + R"(
[[resource]]
match = "sql:main/billing.*"
tags = ["payments"]
[[resource]]
match = "http:auth.example.com"
tags = ["auth"]
[[resource]]
match = "fs:customers/**"
tags = ["pii", "internal"]
[[resource]]
match = "fs:docs/**"
tags = ["public"]
)");
  check_floor(evaluated(constitution, proposal_of("sql.query", {{"database", "main"}, {"sql", "SELECT * FROM billing.cards"}})),
              "floor.sensitive_resource", Effect::require_approval);
  check_floor(evaluated(constitution, proposal_of("http.request", {{"method", "GET"}, {"url", "https://AUTH.example.com:443/users"}})),
              "floor.sensitive_resource", Effect::require_approval);
  check_floor(evaluated(constitution, proposal_of("fs.read", {{"path", "customers/eu/list.csv"}})), "floor.sensitive_resource",
              Effect::require_approval);
  const auto public_docs = evaluated(constitution, proposal_of("fs.read", {{"path", "docs/a.md"}}));
  CHECK(public_docs.verdict == Effect::allow);
  CHECK(public_docs.facts.tags == std::vector<std::string>{"public"});
}

TEST_CASE("floor.credentials: generating, rotating or transmitting credentials is denied") {
  check_floor(against_allow_all(proposal_of("secrets.rotate", {{"name", "acme/db"}})), "floor.credentials", Effect::deny);
  check_floor(against_allow_all(proposal_of("http.request", {{"method", "POST"}, {"url", "https://api.example.com/"},
                                                             {"headers", {{"Authorization", "Bearer stolen"}}}})),
              "floor.credentials", Effect::deny);
}

TEST_CASE("floor.force_push: a forced push is denied, a plain push is not") {
  Json forced = push;
  forced["force"] = true;
  check_floor(against_allow_all(proposal_of("git.push", forced)), "floor.force_push", Effect::deny);
  CHECK(against_allow_all(proposal_of("git.push", push)).verdict == Effect::allow);
}

TEST_CASE("floor.branch_delete: deleting a branch is denied") {
  check_floor(against_allow_all(proposal_of("git.delete_branch", {{"repo", "acme/api"}, {"branch", "release"}})),
              "floor.branch_delete", Effect::deny);
}

TEST_CASE("floor.bulk_email: mail to more than ten recipients is denied") {
  Json recipients = Json::array();
  for (int i = 0; i < 11; ++i) recipients.push_back("user" + std::to_string(i) + "@example.com");
  const auto bulk = against_allow_all(proposal_of("email.send", {{"to", recipients}, {"subject", "s"}, {"body", "b"}}));
  check_floor(bulk, "floor.bulk_email", Effect::deny);
  const auto one = against_allow_all(proposal_of("email.send", {{"to", {"a@example.com"}}, {"subject", "s"}, {"body", "b"}}));
  CHECK_FALSE(cites(one, "floor.bulk_email"));
  CHECK(one.verdict == Effect::require_approval); // email.send is irreversible
}

TEST_CASE("floor.confidence: confidence below the tenant threshold needs a human") {
  const auto evaluation = against_allow_all(proposal_of("fs.read", {{"path", "a"}}, 6999));
  check_floor(evaluation, "floor.confidence", Effect::require_approval);
  CHECK(against_allow_all(proposal_of("fs.read", {{"path", "a"}}, 7000)).verdict == Effect::allow);
}

TEST_CASE("floor.confidence uses the constitution's threshold, which can only be set from 4000 up") {
  const auto strict = constitution_of(std::string(allow_everything) + "[settings]\nconfidence_threshold_bp = 9500\n");
  check_floor(evaluated(strict, proposal_of("fs.read", {{"path", "a"}}, 9000)), "floor.confidence", Effect::require_approval);
  CHECK_THAT(constitution_error(std::string(allow_everything) + "[settings]\nconfidence_threshold_bp = 0\n").message,
             Catch::Contains("4000..10000"));
}

TEST_CASE("floor.injection: a run with suspected injection is clamped below 0.4 and needs a human") {
  auto proposal = proposal_of("fs.read", {{"path", "a"}}, 10000);
  proposal.observed.injection_flags = {"role_shift"};
  const auto evaluation = against_allow_all(proposal);
  check_floor(evaluation, "floor.injection", Effect::require_approval);
  CHECK(cites(evaluation, "floor.confidence"));
  CHECK(evaluation.confidence_bp == injection_confidence_clamp_bp);
}

TEST_CASE("floor.untrusted_flow: untrusted data in a sensitive argument needs a human") {
  auto proposal = proposal_of("http.request", {{"method", "GET"}, {"url", "https://evil.example.com/"}});
  proposal.observed.tainted_arguments = {"url"};
  check_floor(against_allow_all(proposal), "floor.untrusted_flow", Effect::require_approval);
}

TEST_CASE("a tainted argument the tool does not call sensitive is no floor finding") {
  auto proposal = proposal_of("fs.read", {{"path", "a"}, {"max_bytes", 10}});
  proposal.observed.tainted_arguments = {"max_bytes"};
  CHECK(against_allow_all(proposal).verdict == Effect::allow);
}

TEST_CASE("a deny rule stays a deny when floors also ask for a human") {
  const auto constitution = constitution_of(R"(
[[rule]]
id = "no-deletes"
description = "d"
effect = "deny"
tools = ["fs.delete"]
)");
  const auto evaluation = evaluated(constitution, proposal_of("fs.delete", {{"path", "a"}}));
  CHECK(evaluation.verdict == Effect::deny);
  CHECK(evaluation.rules == std::vector<std::string>{"no-deletes", "floor.irreversible"});
}

TEST_CASE("every floor in the catalog is named floor.* and raises to approval or denial") {
  for (const auto& floor : floor_catalog()) {
    CHECK(floor.id.starts_with("floor."));
    CHECK(floor.effect != Effect::allow);
    CHECK_FALSE(floor.description.empty());
  }
}

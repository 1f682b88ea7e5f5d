// cordon-policy replay: audited decisions re-evaluated under another constitution.
#include <catch2/catch.hpp>

#include <sstream>

#include "approvald/policy/replay.h"
#include "tests/unit/policy/policy_fixtures.h"

using namespace cordon;
using namespace cordon::approvald;
using namespace cordon::approvald::testing;

namespace {

const char* reads_allowed = "[[rule]]\nid='reads'\ndescription='d'\neffect='allow'\ntools=['fs.read']\n";
const char* reads_denied = "[[rule]]\nid='no-reads'\ndescription='d'\neffect='deny'\ntools=['fs.read']\n";

// A decision.issued ledger entry as approvald records it.
std::string entry(std::uint64_t index, const Evaluation& evaluation, const Proposal& proposal) {
  const Json leaf = {{"index", index},
                     {"kind", "decision.issued"},
                     {"tenant", "acme"},
                     {"data", {{"decision_id", "d-" + std::to_string(index)},
                               {"verdict", packet_verdict(evaluation.verdict)},
                               {"policy_verdict", effect_name(evaluation.verdict)},
                               {"mode", mode_name(evaluation.mode)},
                               {"rules", evaluation.rules},
                               {"policy_version", evaluation.policy_version},
                               {"proposal", proposal_json(proposal)}}}};
  return leaf.dump() + "\n";
}

std::string recorded_log() {
  const auto constitution = constitution_of(reads_allowed);
  const auto read = proposal_of("fs.read", {{"path", "a"}});
  const auto write = proposal_of("fs.write", {{"path", "a"}, {"content", ""}});
  return entry(3, evaluated(constitution, read), read) + R"({"index":4,"kind":"lease.issued","data":{}})" + "\n" +
         entry(5, evaluated(constitution, write), write);
}

} // namespace

TEST_CASE("replaying decisions under the constitution that made them changes nothing") {
  std::istringstream log(recorded_log());
  const auto outcome = replay_decisions(log, constitution_of(reads_allowed)).value();
  CHECK(outcome.decisions == 2);
  CHECK(outcome.unchanged == 2);
  CHECK(outcome.changes.empty());
}

TEST_CASE("replaying under another constitution names each decision that would change, and how") {
  std::istringstream log(recorded_log());
  const auto outcome = replay_decisions(log, constitution_of(reads_denied)).value();
  CHECK(outcome.decisions == 2);
  CHECK(outcome.unchanged == 1); // the write was held by no_match before and still is
  REQUIRE(outcome.changes.size() == 1);
  const auto& change = outcome.changes[0];
  CHECK(change.index == 3);
  CHECK(change.decision_id == "d-3");
  CHECK(change.was_verdict == "allow");
  CHECK(change.now_verdict == "deny");
  CHECK(change.was_rules == std::vector<std::string>{"reads"});
  CHECK(change.now_rules == std::vector<std::string>{"no-reads"});
}

TEST_CASE("a decision that was withdrawn is replayed and marked as never issued") {
  std::istringstream log(recorded_log() + R"({"index":6,"kind":"decision.withdrawn","data":{"decision_id":"d-3","reason":"the decision could not be stored"}})" "\n" +
                         R"({"index":7,"kind":"decision.withdrawn","data":{"decision_id":"d-unknown","reason":"x"}})" "\n");
  const auto outcome = replay_decisions(log, constitution_of(reads_denied)).value();
  CHECK(outcome.decisions == 2);
  CHECK(outcome.withdrawn == 1); // a withdrawal of a decision not in the export counts for nothing
  REQUIRE(outcome.changes.size() == 1);
  CHECK(outcome.changes[0].decision_id == "d-3");
  CHECK(outcome.changes[0].withdrawn);
  std::istringstream plain(recorded_log());
  const auto without = replay_decisions(plain, constitution_of(reads_denied)).value();
  CHECK(without.withdrawn == 0);
  REQUIRE(without.changes.size() == 1);
  CHECK(!without.changes[0].withdrawn);
}

TEST_CASE("a replay refuses an entry that is not JSON or a decision without its proposal, naming the line") {
  std::istringstream garbage("{\"kind\":\"decision.issued\",\"data\":{}}\n");
  CHECK_THAT(replay_decisions(garbage, constitution_of(reads_allowed)).error().message, Catch::Contains("line 1"));
  std::istringstream broken("\n{not json\n");
  CHECK_THAT(replay_decisions(broken, constitution_of(reads_allowed)).error().message, Catch::Contains("line 2"));
}

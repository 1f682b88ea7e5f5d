// The constitution's format (DESIGN.md §5.3, docs/policy-guide.md).
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "common/crypto.h"
#include "common/encoding.h"
#include "tests/unit/policy/policy_fixtures.h"

using namespace cordon;
using namespace cordon::approvald;
using namespace cordon::approvald::testing;

namespace {

const char* reads = R"(
description = "Reads"
[[rule]]
id = "read-code"
description = "Reading the workspace's sources is safe."
effect = "allow"
tools = ["fs.read"]
conditions.glob = { "arguments.path" = ["src/**", "docs/**"] }

[[rule]]
id = "db-writes"
description = "Two DBAs approve database changes."
effect = "require_approval"
tools = ["sql.*"]
approval = { count = 2, group = "dba", bind = ["target.head"] }

[[resource]]
match = "sql:billing/**"
tags = ["payments"]

[settings]
confidence_threshold_bp = 8000
)";

} // namespace

TEST_CASE("a constitution's rules, resources and settings are read as written") {
  const auto constitution = constitution_of(reads);
  REQUIRE(constitution.rules.size() == 2);
  const Rule& rule = constitution.rules[0];
  CHECK(rule.id == "read-code");
  CHECK(rule.effect == Effect::allow);
  CHECK(rule.tools == std::vector<std::string>{"fs.read"});
  REQUIRE(rule.conditions.size() == 1);
  CHECK(rule.conditions[0].op == Operator::glob);
  CHECK(rule.conditions[0].field == "arguments.path");
  CHECK(rule.conditions[0].values == std::vector<Json>{"src/**", "docs/**"});
  CHECK(rule.file == "00-test.toml");
  REQUIRE(constitution.rules[1].approval);
  CHECK(*constitution.rules[1].approval == ApprovalRequirement{2, "dba", {"target.head"}});
  REQUIRE(constitution.resources.size() == 1);
  CHECK(constitution.resources[0].tags == std::vector<std::string>{"payments"});
  CHECK(constitution.confidence_threshold_bp == 8000);
}

TEST_CASE("policy_version is SHA-256 of the JCS of the files as JSON, blind to formatting and comments") {
  const auto constitution = constitution_of(R"(
[[rule]]
id = "a"
description = "d"
effect = "deny"
tools = ["*"]
)");
  const std::string canonical =
      R"({"00-test.toml":{"rule":[{"description":"d","effect":"deny","id":"a","tools":["*"]}]}})";
  CHECK(constitution.version == "sha256:" + to_hex(crypto::sha256(canonical)));
  const auto reformatted = constitution_of("# a comment\n[[rule]]\ntools=[ \"*\" ]\neffect='deny'\nid = \"a\"\ndescription=\"d\"\n");
  CHECK(reformatted.version == constitution.version);
}

TEST_CASE("any change to a rule or a file name is a new policy_version") {
  const auto base = constitution_of(reads).version;
  std::string changed = reads;
  changed.replace(changed.find("8000"), 4, "8001");
  CHECK(constitution_of(changed).version != base);
  const std::vector<ConstitutionFile> renamed{{"01-test.toml", reads}};
  CHECK(parse_constitution(renamed).value().version != base);
}

TEST_CASE("files are read in name order whatever order they come in") {
  const std::string first = "[[rule]]\nid='one'\ndescription='d'\neffect='allow'\ntools=['fs.read']\n";
  const std::string second = "[[rule]]\nid='two'\ndescription='d'\neffect='deny'\ntools=['fs.read']\n";
  const std::vector<ConstitutionFile> files{{"20-b.toml", second}, {"10-a.toml", first}};
  const auto constitution = parse_constitution(files).value();
  CHECK(constitution.rules[0].id == "one");
  CHECK(constitution.rules[1].id == "two");
  CHECK(constitution.files == std::vector<std::string>{"10-a.toml", "20-b.toml"});
}

TEST_CASE("an empty constitution is refused: no policy is not a policy") {
  CHECK(parse_constitution({}).error().code == Errc::invalid_argument);
}

TEST_CASE("malformed constitutions are refused with the file, the rule and the key") {
  const std::string rule = "[[rule]]\nid='r'\ndescription='d'\ntools=['*']\n";
  struct Case {
    std::string text;
    std::string says;
  };
  const std::vector<Case> cases{
      {"[[rule]\n", "invalid TOML"},
      {rule + "effect='maybe'\n", "effect must be allow, require_approval or deny"},
      {rule + "effect='allow'\nextra=1\n", "unknown key \"extra\""},
      {rule + "effect='allow'\nconditions.sometimes = { 'tool' = 'x' }\n", "is not an operator"},
      {rule + "effect='allow'\nconditions.equals = { 'argument.path' = 'x' }\n", "no such field"},
      {rule + "effect='allow'\nconditions.numeric_lt = { 'confidence_bp' = 'high' }\n", "compares integers"},
      {rule + "effect='allow'\nconditions.numeric_lt = { 'confidence_bp' = 0.5 }\n", "floating-point"},
      {rule + "effect='allow'\napproval = { count = 2 }\n", "only for rules with effect require_approval"},
      {rule + "effect='require_approval'\napproval = { count = 0 }\n", "approval.count must be an integer 1..10"},
      {"[[rule]]\nid='floor.mine'\ndescription='d'\neffect='allow'\ntools=['*']\n", "reserved"},
      {"[[rule]]\nid='Bad Id'\ndescription='d'\neffect='allow'\ntools=['*']\n", "id must be"},
      {"[[rule]]\nid='r'\neffect='allow'\ntools=['*']\n", "description is required"},
      {"[[rule]]\nid='r'\ndescription='d'\neffect='allow'\n", "tools is required"},
      {rule + "effect='allow'\n" + rule + "effect='deny'\n", "defined twice"},
      {"[settings]\nconfidence_threshold_bp = 100\n", "4000..10000"},
      {"when = 2026-12-01T00:00:00Z\n", "a date-time"},
      {"[[resource]]\nmatch='sql:x'\n", "needs tags"},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    const Error error = constitution_error(c.text);
    CHECK_THAT(error.message, Catch::Contains(c.says));
    CHECK_THAT(error.message, Catch::Contains("00-test.toml"));
  }
}

TEST_CASE("load_constitution reads the *.toml files of a directory and refuses an empty one") {
  const auto directory = std::filesystem::temp_directory_path() / ("cordon-constitution-" + std::to_string(::getpid()));
  std::filesystem::remove_all(directory);
  std::filesystem::create_directories(directory);
  CHECK(load_constitution(directory).error().code == Errc::not_found);
  std::ofstream(directory / "10-reads.toml") << reads;
  std::ofstream(directory / "README") << "not a rule file";
  const auto constitution = load_constitution(directory).value();
  CHECK(constitution.files == std::vector<std::string>{"10-reads.toml"});
  CHECK(constitution.rules.size() == 2);
  std::filesystem::remove_all(directory);
  CHECK(load_constitution(directory).error().code == Errc::not_found);
}

// cordon-policy lint: rules that cannot do what they seem to say.
#include <catch2/catch.hpp>

#include "approvald/policy/lint.h"
#include "tests/unit/policy/policy_fixtures.h"

using namespace cordon;
using namespace cordon::approvald;
using namespace cordon::approvald::testing;

namespace {

std::vector<std::string> messages(const std::string& text) {
  std::vector<std::string> out;
  for (const auto& finding : lint_constitution(constitution_of(text))) out.push_back(finding.rule + ": " + finding.message);
  return out;
}

bool says(const std::vector<std::string>& findings, const std::string& text) {
  for (const auto& finding : findings)
    if (finding.find(text) != std::string::npos) return true;
  return false;
}

} // namespace

TEST_CASE("lint is quiet about rules that make sense") {
  CHECK(messages(R"(
[[rule]]
id = "reads"
description = "d"
effect = "allow"
tools = ["fs.read"]
conditions.glob = { "arguments.path" = "src/**" }
conditions.no_untrusted_data_in = ["path"]
)").empty());
}

TEST_CASE("lint warns about tool globs that match no tool") {
  CHECK(says(messages("[[rule]]\nid='r'\ndescription='d'\neffect='allow'\ntools=['shell.*']\n"), "r: its tools match no known tool"));
}

TEST_CASE("lint warns about conditions on arguments the tools do not take") {
  const auto findings = messages(R"(
[[rule]]
id = "typo"
description = "d"
effect = "allow"
tools = ["fs.read"]
conditions.glob = { "arguments.pth" = "src/**" }
conditions.no_untrusted_data_in = ["url"]
)");
  CHECK(says(findings, "arguments.pth can never hold"));
  CHECK(says(findings, "no_untrusted_data_in names \"url\""));
}

TEST_CASE("lint warns about allow rules the floor always overrides, and allow-everything rules") {
  const auto findings = messages(allow_everything);
  CHECK(says(findings, "allows every call of every tool"));
  CHECK(says(findings, "allows fs.delete, which is irreversible"));
  CHECK(says(findings, "allows secrets.rotate, which the hard floor always denies"));
}

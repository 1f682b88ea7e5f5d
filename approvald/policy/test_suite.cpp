#include "approvald/policy/test_suite.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "approvald/policy/proposal.h"
#include "common/config.h"
#include "common/tools/tool_catalog.h"

namespace cordon::approvald {
namespace {

Result<std::vector<std::string>> names(const Json& value, const std::string& where) {
  if (!value.is_array()) return fail(Errc::invalid_argument, where + " must be a list of rule ids");
  std::vector<std::string> out;
  for (const Json& item : value) {
    if (!item.is_string()) return fail(Errc::invalid_argument, where + " must be a list of rule ids");
    out.push_back(item.get<std::string>());
  }
  return out;
}

Result<PolicyTestCase> parse_case(const Json& table, const std::string& file, std::size_t position) {
  std::string where = file + ": case #" + std::to_string(position + 1);
  if (!table.is_object()) return fail(Errc::invalid_argument, where + " must be a table");
  PolicyTestCase test;
  test.file = file;
  if (!table.contains("name") || !table["name"].is_string())
    return fail(Errc::invalid_argument, where + " needs a name");
  test.name = table["name"].get<std::string>();
  where = file + ": case \"" + test.name + "\"";
  if (auto known = require_known_fields(table, {"name", "tool", "tool_pin", "arguments", "target", "agent", "confidence_bp",
                                                "mode", "observed", "citations", "expect"});
      !known)
    return fail(known.error().code, where + ": " + known.error().message);
  if (!table.contains("tool") || !table["tool"].is_string()) return fail(Errc::invalid_argument, where + " needs a tool");
  const std::string tool = table["tool"];
  const auto* spec = tools::find_tool(tool);
  test.proposal = {{"run_id", "r-policy-test"},
                   {"agent", table.value("agent", "test-agent")},
                   {"tool", tool},
                   {"tool_pin", table.value("tool_pin", spec ? tools::tool_pin(*spec) : std::string("sha256:unknown"))},
                   {"arguments", table.value("arguments", Json::object())},
                   {"confidence_bp", table.value("confidence_bp", Json(9000))}};
  for (const char* optional : {"target", "observed", "citations"})
    if (table.contains(optional)) test.proposal[optional] = table[optional];
  const std::string mode = table.value("mode", "live");
  if (mode != "live" && mode != "dry_run") return fail(Errc::invalid_argument, where + ": mode is live or dry_run");
  test.mode = mode == "live" ? TenantMode::live : TenantMode::dry_run;

  if (!table.contains("expect") || !table["expect"].is_object())
    return fail(Errc::invalid_argument, where + " needs an [case.expect] table");
  const Json& expect = table["expect"];
  if (auto known = require_known_fields(expect, {"verdict", "rules", "cites", "not_cites", "error"}); !known)
    return fail(known.error().code, where + ": expect: " + known.error().message);
  if (expect.contains("error")) {
    if (!expect["error"].is_string() || expect.contains("verdict"))
      return fail(Errc::invalid_argument, where + ": expect.error is a string, instead of a verdict");
    test.error = expect["error"].get<std::string>();
    return test;
  }
  test.verdict = expect.value("verdict", "");
  if (test.verdict == "pending") test.verdict = "require_approval";
  if (test.verdict != "allow" && test.verdict != "require_approval" && test.verdict != "deny")
    return fail(Errc::invalid_argument, where + ": expect.verdict is allow, require_approval (or pending) or deny");
  if (expect.contains("rules")) test.rules = CORDON_TRY(names(expect["rules"], where + ": expect.rules"));
  if (expect.contains("cites")) test.cites = CORDON_TRY(names(expect["cites"], where + ": expect.cites"));
  if (expect.contains("not_cites")) test.not_cites = CORDON_TRY(names(expect["not_cites"], where + ": expect.not_cites"));
  return test;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return "[" + out + "]";
}

bool has(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

CaseOutcome run_case(const Constitution& constitution, const PolicyTestCase& test, SuiteOutcome& suite) {
  CaseOutcome outcome;
  outcome.test = &test;
  auto proposal = parse_proposal(test.proposal);
  Result<Evaluation> evaluation = proposal ? evaluate(constitution, *proposal, "test", test.mode)
                                           : Result<Evaluation>(tl::unexpected(proposal.error()));
  if (!evaluation) {
    outcome.verdict = "error: " + evaluation.error().message;
    if (test.error.empty()) outcome.failures.push_back("the proposal could not be judged: " + evaluation.error().message);
    else if (evaluation.error().message.find(test.error) == std::string::npos)
      outcome.failures.push_back("expected a refusal saying \"" + test.error + "\", got: " + evaluation.error().message);
    return outcome;
  }
  for (const auto& id : evaluation->matched_rules) ++suite.rule_hits[id];
  outcome.verdict = std::string(effect_name(evaluation->verdict));
  outcome.cited = evaluation->rules;
  if (!test.error.empty()) {
    outcome.failures.push_back("expected a refusal saying \"" + test.error + "\", got verdict " + outcome.verdict);
    return outcome;
  }
  if (outcome.verdict != test.verdict)
    outcome.failures.push_back("expected verdict " + test.verdict + ", got " + outcome.verdict + " citing " + join(outcome.cited));
  if (test.rules && *test.rules != outcome.cited)
    outcome.failures.push_back("expected the rules " + join(*test.rules) + ", got " + join(outcome.cited));
  for (const auto& id : test.cites)
    if (!has(outcome.cited, id)) outcome.failures.push_back("expected " + id + " among the rules cited, got " + join(outcome.cited));
  for (const auto& id : test.not_cites)
    if (has(outcome.cited, id)) outcome.failures.push_back("expected " + id + " not to be cited, got " + join(outcome.cited));
  return outcome;
}

} // namespace

Result<std::vector<PolicyTestCase>> parse_test_cases(const std::string& file_name, const std::string& text) {
  const auto file = CORDON_TRY(ConfigFile::parse(text, file_name));
  const Json document = CORDON_TRY(file.to_json());
  if (auto known = require_known_fields(document, {"case", "description"}); !known)
    return fail(known.error().code, file_name + ": " + known.error().message);
  std::vector<PolicyTestCase> cases;
  if (!document.contains("case")) return cases;
  if (!document["case"].is_array()) return fail(Errc::invalid_argument, file_name + ": case must be [[case]] tables");
  for (std::size_t i = 0; i < document["case"].size(); ++i) cases.push_back(CORDON_TRY(parse_case(document["case"][i], file_name, i)));
  return cases;
}

Result<std::vector<PolicyTestCase>> load_test_cases(const std::filesystem::path& directory) {
  std::error_code error;
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(directory, error))
    if (entry.path().extension() == ".toml") files.push_back(entry.path());
  if (error) return fail(Errc::not_found, "cannot read " + directory.string() + ": " + error.message());
  std::sort(files.begin(), files.end());
  std::vector<PolicyTestCase> cases;
  for (const auto& path : files) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    auto parsed = CORDON_TRY(parse_test_cases(path.filename().string(), text.str()));
    cases.insert(cases.end(), std::make_move_iterator(parsed.begin()), std::make_move_iterator(parsed.end()));
  }
  if (cases.empty()) return fail(Errc::not_found, directory.string() + " holds no [[case]] in any *.toml");
  return cases;
}

SuiteOutcome run_test_cases(const Constitution& constitution, const std::vector<PolicyTestCase>& cases) {
  SuiteOutcome suite;
  for (const Rule& rule : constitution.rules) suite.rule_hits[rule.id] = 0;
  for (const PolicyTestCase& test : cases) {
    suite.cases.push_back(run_case(constitution, test, suite));
    if (!suite.cases.back().failures.empty()) ++suite.failed;
  }
  for (const auto& [id, hits] : suite.rule_hits)
    if (hits > 0) ++suite.covered;
  suite.coverage_percent = constitution.rules.empty() ? 100.0 : 100.0 * static_cast<double>(suite.covered) /
                                                                     static_cast<double>(constitution.rules.size());
  return suite;
}

} // namespace cordon::approvald

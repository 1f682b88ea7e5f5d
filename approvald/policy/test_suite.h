#pragma once

#include <cstddef>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "approvald/policy/constitution.h"
#include "approvald/policy/evaluator.h"
#include "common/error.h"
#include "common/json.h"

// Decision test cases for a constitution (`cordon-policy test`, docs/policy-guide.md): a
// proposal in, the verdict and cited rules expected out, and which rules the cases exercised.
namespace cordon::approvald {

struct PolicyTestCase {
  std::string name;
  std::string file;
  Json proposal;                   // as POST /v1/decisions takes it (tool_pin filled in)
  TenantMode mode = TenantMode::live;
  std::string verdict;             // allow | require_approval | deny; empty when error is set
  std::optional<std::vector<std::string>> rules; // exactly these cited, in order
  std::vector<std::string> cites;     // at least these cited
  std::vector<std::string> not_cites; // none of these cited
  std::string error;               // the proposal cannot be judged; the refusal says this
};

// Reads every `*.toml` in `directory` in name order; each holds [[case]] tables. Malformed or
// unknown keys are refused naming the file and case.
Result<std::vector<PolicyTestCase>> load_test_cases(const std::filesystem::path& directory);
Result<std::vector<PolicyTestCase>> parse_test_cases(const std::string& file_name, const std::string& text);

struct CaseOutcome {
  const PolicyTestCase* test = nullptr;
  std::vector<std::string> failures; // empty: passed
  std::vector<std::string> cited;
  std::string verdict; // what came out, or "error: …"
};

struct SuiteOutcome {
  std::vector<CaseOutcome> cases;
  std::size_t failed = 0;
  std::map<std::string, std::size_t> rule_hits; // every constitution rule -> cases matching it
  std::size_t covered = 0;                      // rules matched by at least one case
  double coverage_percent = 0;                  // 100 for a constitution without rules
};

SuiteOutcome run_test_cases(const Constitution& constitution, const std::vector<PolicyTestCase>& cases);

} // namespace cordon::approvald

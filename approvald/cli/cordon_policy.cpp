// cordon-policy: write and check a constitution before it is in force (docs/policy-guide.md).
//
//   cordon-policy test [--constitution DIR] [--coverage] [--threshold PERCENT] CASES_DIR
//   cordon-policy lint [--constitution DIR] [--strict]
//   cordon-policy replay [--constitution DIR] [--fail-on-change] [EXPORT.jsonl | -]
//
// Exit status: 0 all good; 1 a case failed, coverage is below the threshold, (--strict) lint
// found something, or (--fail-on-change) a replayed decision would change; 2 the constitution,
// the cases or the export do not load.
#include <cstdio>
#include <fstream>
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "approvald/policy/constitution.h"
#include "approvald/policy/hard_floor.h"
#include "approvald/policy/lint.h"
#include "approvald/policy/replay.h"
#include "approvald/policy/test_suite.h"

namespace {

using namespace cordon::approvald;

int load_failed(const cordon::Error& error) {
  std::cerr << "cordon-policy: " << error.message << "\n";
  return 2;
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

int run_tests(const std::string& constitution_dir, const std::string& cases_dir, bool coverage, double threshold) {
  auto constitution = load_constitution(constitution_dir);
  if (!constitution) return load_failed(constitution.error());
  auto cases = load_test_cases(cases_dir);
  if (!cases) return load_failed(cases.error());
  const SuiteOutcome suite = run_test_cases(*constitution, *cases);
  for (const CaseOutcome& outcome : suite.cases) {
    const bool passed = outcome.failures.empty();
    std::cout << (passed ? "PASS  " : "FAIL  ") << outcome.test->file << ": " << outcome.test->name << "\n";
    for (const auto& failure : outcome.failures) std::cout << "        " << failure << "\n";
  }
  std::cout << fmt::format("{} cases: {} passed, {} failed (constitution {})\n", suite.cases.size(),
                           suite.cases.size() - suite.failed, suite.failed, constitution->version);
  std::cout << fmt::format("coverage: {} of {} rules ({:.1f}%)\n", suite.covered, constitution->rules.size(),
                           suite.coverage_percent);
  if (coverage) {
    for (const Rule& rule : constitution->rules) {
      const std::size_t hits = suite.rule_hits.at(rule.id);
      std::cout << fmt::format("  {:<32} {:>4} case{}{}\n", rule.id, hits, hits == 1 ? "" : "s",
                               hits == 0 ? "   <- not covered" : "");
    }
  }
  int status = suite.failed == 0 ? 0 : 1;
  if (threshold > 0 && suite.coverage_percent + 1e-9 < threshold) {
    std::cout << fmt::format("coverage {:.1f}% is below the threshold {:.1f}%\n", suite.coverage_percent, threshold);
    status = 1;
  }
  return status;
}

int run_lint(const std::string& constitution_dir, bool strict) {
  auto constitution = load_constitution(constitution_dir);
  if (!constitution) return load_failed(constitution.error());
  const auto findings = lint_constitution(*constitution);
  std::cout << fmt::format("constitution {}: {} files, {} rules, {} resource tags, threshold {} bp\n", constitution->version,
                           constitution->files.size(), constitution->rules.size(), constitution->resources.size(),
                           constitution->confidence_threshold_bp);
  std::cout << "files: " << joined(constitution->files) << "\n";
  for (const auto& finding : findings)
    std::cout << "warning: " << (finding.rule.empty() ? "" : "rule \"" + finding.rule + "\": ") << finding.message << "\n";
  std::cout << "the hard floor, which no rule can lower:\n";
  for (const auto& floor : floor_catalog())
    std::cout << fmt::format("  {:<26} {:<17} {}\n", floor.id, effect_name(floor.effect), floor.description);
  std::cout << fmt::format("{} warning{}\n", findings.size(), findings.size() == 1 ? "" : "s");
  return strict && !findings.empty() ? 1 : 0;
}

int run_replay(const std::string& constitution_dir, const std::string& source, bool fail_on_change) {
  auto constitution = load_constitution(constitution_dir);
  if (!constitution) return load_failed(constitution.error());
  std::ifstream file;
  if (source != "-") {
    file.open(source);
    if (!file) return load_failed(cordon::Error{cordon::Errc::not_found, "cannot read " + source});
  }
  auto outcome = replay_decisions(source == "-" ? std::cin : file, *constitution);
  if (!outcome) return load_failed(outcome.error());
  for (const ReplayChange& change : outcome->changes) {
    std::cout << fmt::format("#{} {} {}: {} -> {}{}\n", change.index, change.decision_id, change.tool, change.was_verdict,
                             change.now_verdict, change.withdrawn ? "  (withdrawn: never issued)" : "");
    std::cout << "        rules [" << joined(change.was_rules) << "] -> [" << joined(change.now_rules) << "]  (was under "
              << change.was_policy_version << ")\n";
  }
  std::cout << fmt::format("{} decisions replayed under {}: {} unchanged, {} would change", outcome->decisions,
                           constitution->version, outcome->unchanged, outcome->changes.size());
  if (outcome->withdrawn > 0) std::cout << fmt::format(" ({} of them withdrawn, never issued)", outcome->withdrawn);
  std::cout << "\n";
  return fail_on_change && !outcome->changes.empty() ? 1 : 0;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"cordon-policy: test and lint a Cordon constitution"};
  app.require_subcommand(1);
  std::string constitution_dir = "/etc/cordon/constitution.d";

  auto* test = app.add_subcommand("test", "run decision test cases against the constitution");
  std::string cases_dir;
  bool coverage = false;
  double threshold = 0;
  test->add_option("--constitution", constitution_dir, "constitution directory")->capture_default_str();
  test->add_flag("--coverage", coverage, "list every rule with the number of cases it matched");
  test->add_option("--threshold", threshold, "fail when fewer than PERCENT of the rules are covered")->check(CLI::Range(0.0, 100.0));
  test->add_option("cases", cases_dir, "directory of *.toml files with [[case]] tables")->required();

  auto* lint = app.add_subcommand("lint", "check the constitution and warn about rules that cannot do what they say");
  bool strict = false;
  lint->add_option("--constitution", constitution_dir, "constitution directory")->capture_default_str();
  lint->add_flag("--strict", strict, "exit 1 when there is any warning");

  auto* replay = app.add_subcommand("replay", "re-evaluate audited decisions (cordon-audit export --format jsonl) under this constitution");
  std::string source = "-";
  bool fail_on_change = false;
  replay->add_option("--constitution", constitution_dir, "constitution directory")->capture_default_str();
  replay->add_flag("--fail-on-change", fail_on_change, "exit 1 when any decision would come out differently");
  replay->add_option("export", source, "JSONL ledger entries; - for standard input")->capture_default_str();

  CLI11_PARSE(app, argc, argv);
  if (test->parsed()) return run_tests(constitution_dir, cases_dir, coverage, threshold);
  if (replay->parsed()) return run_replay(constitution_dir, source, fail_on_change);
  return run_lint(constitution_dir, strict);
}

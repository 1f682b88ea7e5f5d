// gate-bench: approvald's decisions end to end (DESIGN.md §10: gate p99 ≤ 2 ms), and the policy
// evaluation alone for a constitution of 200 rules. Prints one JSON object on stdout; progress
// on stderr.
//
//   gate-bench [--quick]
//
// A real auditd, secretsd (development key-file custody) and approvald on this machine. Each
// decision is a POST /v1/decisions of an auto-allowed proposal: parse, evaluate against the 200
// rules, sign through secretsd (whose key.signed event is durable), record decision.issued
// durably in auditd, store it in SQLite, answer. The peer in the same run is one durable audit
// append (POST /v1/events on auditd, one client): a decision includes two of them.
#include <iostream>
#include <sstream>
#include <thread>

#include "approvald/policy/constitution.h"
#include "approvald/policy/evaluator.h"
#include "approvald/policy/proposal.h"
#include "common/json.h"
#include "common/tools/tool_catalog.h"
#include "tests/bench/bench_stack.h"
#include "tests/bench/bench_util.h"
#include "tests/support/temp_dir.h"

using namespace cordon;

namespace {

void progress(const std::string& text) { std::cerr << "gate-bench: " << text << std::endl; }

// 199 rules that do not match the benchmark's call (other tools, or conditions that fail),
// written the way constitutions are, then the one allow rule that does.
std::string constitution_of_200_rules() {
  std::ostringstream text;
  const char* tools[] = {"sql.query", "http.request", "fs.write", "git.push", "email.send"};
  for (int i = 0; i < 199; ++i) {
    text << "[[rule]]\nid = \"rule-" << i << "\"\ndescription = \"Rule " << i << ".\"\n";
    if (i % 3 == 0) {
      text << "effect = \"deny\"\ntools = [\"fs.*\"]\nconditions.prefix = { \"arguments.path\" = \"secret-" << i << "/\" }\n";
    } else if (i % 3 == 1) {
      text << "effect = \"require_approval\"\ntools = [\"" << tools[i % 5] << "\"]\n";
    } else {
      text << "effect = \"allow\"\ntools = [\"fs.read\"]\nconditions.glob = { \"arguments.path\" = \"area-" << i
           << "/**\" }\nconditions.numeric_le = { \"confidence_bp\" = " << (5000 + i) << " }\n";
    }
    text << "\n";
  }
  text << "[[rule]]\nid = \"read-sources\"\ndescription = \"Reading sources is safe.\"\neffect = \"allow\"\n"
          "tools = [\"fs.read\"]\nconditions.glob = { \"arguments.path\" = \"src/**\" }\n"
          "conditions.no_untrusted_data_in = [\"path\"]\n";
  return text.str();
}

Json proposal(std::size_t i) {
  const auto* tool = tools::find_tool("fs.read");
  return {{"run_id", "r-bench"}, {"agent", "bench-agent"}, {"tool", "fs.read"}, {"tool_pin", tools::tool_pin(*tool)},
          {"arguments", {{"path", "src/module-" + std::to_string(i) + ".c"}}}, {"confidence_bp", 9000}};
}

// Mean microseconds of one evaluate() of `proposal` against `constitution`, best of 5 rounds.
double evaluation_us(const approvald::Constitution& constitution, const approvald::Proposal& proposal, int rounds) {
  double best = 1e18;
  for (int round = 0; round < 5; ++round) {
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < rounds; ++i) {
      auto evaluation = approvald::evaluate(constitution, proposal, "test", approvald::TenantMode::live);
      if (!evaluation || evaluation->verdict != approvald::Effect::allow) std::abort();
    }
    const double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count() / rounds;
    best = std::min(best, us);
  }
  return best;
}

Result<Json> run(bool quick) {
  const bench::StealMeter steal;
  const std::size_t count = quick ? 200 : 4000;
  const int clients = 4;
  const std::string rules = constitution_of_200_rules();

  progress("policy evaluation alone, 200 rules");
  const std::vector<approvald::ConstitutionFile> files{{"10-bench.toml", rules}};
  const auto constitution = CORDON_TRY(approvald::parse_constitution(files));
  const auto parsed = CORDON_TRY(approvald::parse_proposal(proposal(0)));
  const double eval_us = evaluation_us(constitution, parsed, quick ? 200 : 5000);

  testing::TempDir directory("cordon-gb");
  bench::GateStack stack(directory.path());
  CORDON_TRY_VOID(stack.start(rules));

  std::vector<std::string> sequential, concurrent, appends;
  for (std::size_t i = 0; i < count; ++i) {
    sequential.push_back(proposal(i).dump());
    concurrent.push_back(proposal(count + i).dump());
    appends.push_back(Json{{"kind", "bench.append"}, {"actor", {{"type", "system"}, {"id", "bench"}}},
                           {"data", {{"i", i}, {"path", "src/module-" + std::to_string(i) + ".c"}}}}
                          .dump());
  }
  progress("decisions, one client, " + std::to_string(count) + " requests");
  auto latency = CORDON_TRY(bench::run_posts(stack.approvald.socket_path(), "/v1/decisions", sequential, 1, 201));
  progress("decisions, " + std::to_string(clients) + " clients, " + std::to_string(count) + " requests");
  auto throughput = CORDON_TRY(bench::run_posts(stack.approvald.socket_path(), "/v1/decisions", concurrent, clients, 201));
  progress("the peer: durable audit appends, one client, " + std::to_string(count) + " requests");
  auto peer = CORDON_TRY(bench::run_posts(stack.auditd.socket_path(), "/v1/events", appends, 1, 201));
  for (const auto& output : latency.outputs)
    if (output.find("\"verdict\":\"allow\"") == std::string::npos) return fail(Errc::integrity, "a decision was not allow: " + output);

  Json report;
  report["benchmark"] = "gate-bench";
  report["quick"] = quick;
  report["rules"] = constitution.rules.size();
  report["policy_eval_us"] = bench::round_to(eval_us, 2);
  report["decision_p50_ms"] = bench::round_to(bench::percentile_ms(latency.latencies, 0.50), 3);
  report["decision_p99_ms"] = bench::round_to(bench::percentile_ms(latency.latencies, 0.99), 3);
  report["decision_max_ms"] = bench::round_to(bench::percentile_ms(latency.latencies, 1.0), 3);
  report["decisions_per_s"] = std::round(static_cast<double>(concurrent.size()) / throughput.seconds);
  report["decision_concurrent_p99_ms"] = bench::round_to(bench::percentile_ms(throughput.latencies, 0.99), 3);
  report["audit_append_p50_ms"] = bench::round_to(bench::percentile_ms(peer.latencies, 0.50), 3);
  report["decision_vs_append_p50"] = bench::round_to(report["decision_p50_ms"].get<double>() / report["audit_append_p50_ms"].get<double>(), 2);
  report["clients"] = clients;
  report["notes"] = "each decision: parse, evaluate 200 rules, sign through secretsd (durable key.signed), durable "
                    "decision.issued in auditd, SQLite commit (synchronous=FULL); the peer is one durable audit append";
  report["targets"] = {{"decision_p99_le_2ms", report["decision_p99_ms"].get<double>() <= 2.0}};
  report["machine"] = bench::machine_json();
  report["host_steal_pct"] = steal.percent();
  return report;
}

} // namespace

int main(int argc, char** argv) { return bench::quick_bench_main(argc, argv, "gate-bench", run); }

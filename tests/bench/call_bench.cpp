// call-bench: the gate's overhead on a tool call (DESIGN.md §10: p99 overhead ≤ 3 ms). A real
// auditd, secretsd (development key-file custody), approvald and agentd on this machine. The
// measured call is an MCP tools/call of fs.read (a 200-byte file) on agentd's socket: schema
// check, taint check, proposal, approvald's signed decision (durable decision.issued and
// key.signed), agentd's packet check and durable nonce, durable tool.started, the read, the
// scan and span, durable tool.executed. The peer in the same run is the same fs.read called
// directly in this process. Prints one JSON object on stdout; progress on stderr.
//
//   call-bench [--quick]
#include <fstream>
#include <iostream>

#include "agentd/tools/fs_tools.h"
#include "agentd/tools/workspace.h"
#include "tests/bench/bench_stack.h"
#include "tests/bench/bench_util.h"
#include "tests/support/agentd_process.h"
#include "tests/support/temp_dir.h"

using namespace cordon;

namespace {

void progress(const std::string& text) { std::cerr << "call-bench: " << text << std::endl; }

constexpr const char* constitution = R"(
[[rule]]
id = "read-sources"
description = "Reading sources is safe."
effect = "allow"
tools = ["fs.read"]
conditions.glob = { "arguments.path" = "src/**" }
conditions.no_untrusted_data_in = ["path"]
)";

Result<std::string> mcp_session(ipc::UnixClient& client, const std::string& run) {
  ipc::ClientRequest request;
  request.method = ipc::Method::post;
  request.target = "/mcp";
  request.content_type = "application/json";
  request.headers.push_back({"Cordon-Run-Id", run});
  request.body = Json{{"jsonrpc", "2.0"}, {"id", 0}, {"method", "initialize"},
                      {"params", {{"protocolVersion", "2025-11-25"}, {"clientInfo", {{"name", "call-bench"}}}}}}.dump();
  auto response = CORDON_TRY(client.request(request));
  const std::string session(response.header("mcp-session-id"));
  if (response.status != 200 || session.empty()) return fail(Errc::internal, "initialize failed: " + response.body);
  return session;
}

Result<Json> run(bool quick) {
  const bench::StealMeter steal;
  const std::size_t count = quick ? 100 : 2000;
  testing::TempDir directory("cordon-cb");
  bench::GateStack stack(directory.path());
  CORDON_TRY_VOID(stack.start(constitution));
  testing::AgentdProcessOptions agentd_options;
  agentd_options.directory = directory.path();
  agentd_options.audit_socket = stack.auditd.socket_path();
  agentd_options.approvald_socket = stack.approvald.socket_path();
  agentd_options.secretsd_socket = stack.secretsd.socket_path();
  testing::AgentdProcess agentd(agentd_options);
  CORDON_TRY_VOID(agentd.start());

  const std::string content(200, 'x');
  std::filesystem::create_directories(agentd.workspace() / "src");
  std::ofstream(agentd.workspace() / "src/bench.txt") << content;

  ipc::ClientOptions client_options;
  client_options.timeout = std::chrono::milliseconds(30'000);
  ipc::UnixClient client(agentd.socket_path(), client_options);
  auto registered = CORDON_TRY(client.post("/v1/runs", Json{{"agent", "bench-agent"}, {"task", "Read src/bench.txt"}}.dump()));
  if (registered.status != 201) return fail(Errc::internal, "run registration failed: " + registered.body);
  const std::string run_id = CORDON_TRY(parse_json(registered.body))["run_id"];
  const std::string session = CORDON_TRY(mcp_session(client, run_id));

  progress("tools/call through the gate, " + std::to_string(count) + " calls");
  std::vector<std::int64_t> gated;
  for (std::size_t i = 0; i < count; ++i) {
    ipc::ClientRequest request;
    request.method = ipc::Method::post;
    request.target = "/mcp";
    request.content_type = "application/json";
    request.headers.push_back({"Mcp-Session-Id", session});
    request.body = Json{{"jsonrpc", "2.0"}, {"id", i + 1}, {"method", "tools/call"},
                        {"params", {{"name", "fs.read"}, {"arguments", {{"path", "src/bench.txt"}}},
                                    {"_meta", {{"cordon/confidence", 0.9}}}}}}.dump();
    const auto begin = std::chrono::steady_clock::now();
    auto response = CORDON_TRY(client.request(request));
    gated.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - begin).count());
    if (response.status != 200 || response.body.find("\"isError\":false") == std::string::npos) {
      return fail(Errc::integrity, "a call was not executed: " + response.body);
    }
  }

  progress("the same fs.read called directly, " + std::to_string(count) + " calls");
  auto workspace = CORDON_TRY(agentd::Workspace::open(agentd.workspace()));
  auto tool = agentd::make_fs_read(*workspace);
  std::vector<std::int64_t> direct;
  for (std::size_t i = 0; i < count; ++i) {
    const auto begin = std::chrono::steady_clock::now();
    auto output = tool->run(Json{{"path", "src/bench.txt"}}, run_id);
    direct.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - begin).count());
    if (!output || output->text != content) return fail(Errc::integrity, "the direct read failed");
  }

  const double gated_p50 = bench::percentile_ms(gated, 0.50);
  const double gated_p99 = bench::percentile_ms(gated, 0.99);
  const double direct_p50 = bench::percentile_ms(direct, 0.50);
  const double direct_p99 = bench::percentile_ms(direct, 0.99);
  Json report;
  report["benchmark"] = "call-bench";
  report["quick"] = quick;
  report["calls"] = count;
  report["call_overhead_p50_ms"] = bench::round_to(gated_p50 - direct_p50, 3);
  // The gated call's tail against the direct call's: the overhead at the 99th percentile.
  report["call_overhead_p99_ms"] = bench::round_to(gated_p99 - direct_p99, 3);
  report["gated_p50_ms"] = bench::round_to(gated_p50, 3);
  report["gated_p99_ms"] = bench::round_to(gated_p99, 3);
  report["gated_max_ms"] = bench::round_to(bench::percentile_ms(gated, 1.0), 3);
  report["direct_p50_ms"] = bench::round_to(direct_p50, 4);
  report["direct_p99_ms"] = bench::round_to(direct_p99, 4);
  report["notes"] = "one MCP client on agentd's socket; each gated call: schema and taint checks, approvald's signed decision "
                    "(durable key.signed and decision.issued, SQLite commit), agentd's packet check and durable nonce, durable "
                    "tool.started and tool.executed; the peer is the same fs.read in this process";
  report["targets"] = {{"call_overhead_p99_le_3ms", report["call_overhead_p99_ms"].get<double>() <= 3.0}};
  report["machine"] = bench::machine_json();
  report["host_steal_pct"] = steal.percent();
  return report;
}

} // namespace

int main(int argc, char** argv) { return bench::quick_bench_main(argc, argv, "call-bench", run); }

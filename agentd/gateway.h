#pragma once

#include <functional>
#include <map>
#include <optional>
#include <mutex>
#include <memory>
#include <string>
#include <vector>

#include "agentd/agentd_config.h"
#include "agentd/gate_client.h"
#include "agentd/mcp/mcp_server.h"
#include "agentd/packet_check.h"
#include "agentd/run_store.h"
#include "agentd/tools/tool.h"
#include "agentd/untrusted/injection_markers.h"
#include "agentd/untrusted/taint.h"
#include "common/audit/audit_client.h"
#include "common/clock.h"
#include "common/side_threads.h"

namespace cordon::agentd {

// Every tools/call goes through here (DESIGN.md §5): the arguments against the tool's schema,
// the proposal with what agentd observed of the run (untrusted spans, injection flags, tainted
// sensitive arguments), approvald's decision, agentd's own check of the signed packet (signature,
// digest of exactly these arguments, tenant, expiry, single use), execution (live or dry-run
// as the decision says), then the output scanned, kept as an untrusted span, bounded, and the
// outcome audited.
//
// Fail closed: nothing runs without an allow packet that verifies and whose nonce was spent,
// and nothing runs unless `tool.started` is durable in the ledger first. Every refusal is
// audited (`action.refused`, `action.held`, `action.signature_rejected`) with the decision id
// when there is one. Thread-safe.
class Gateway final : public mcp::ToolHost {
public:
  struct Parts {
    const AgentdConfig* config;
    RunStore* runs;
    GateClient* gate;
    PacketCheck* packets;
    AuditClient* audit;
    const untrusted::MarkerSet* markers;
    const Clock* clock;
    std::vector<std::unique_ptr<Tool>> tools;
  };
  explicit Gateway(Parts parts);

  Result<void> check_run(const std::string& run_id) override;
  Json list_tools() override;
  void call_tool(const mcp::CallContext& context, const std::string& name, const Json& arguments,
                 CallDone done) override;

private:
  struct Call;
  tl::expected<Json, mcp::RpcError> call(const mcp::CallContext& context, const std::string& name,
                                          const Json& arguments);
  // What an allowed call runs with: its arguments, the decision, the packet and action
  // (for a credential lease) and the secret the tool needs ("" for none).
  struct Execution {
    const Json& arguments;
    const decision::Decision& decision; // verified, its nonce not yet spent
    const Json& packet;
    const Json& action;
    const std::string& secret;
  };
  Json execute(Call& call, Tool& tool, const Execution& execution);
  // Replaces every occurrence of a leased value in what the agent and the ledger would see.
  static void redact(ToolOutput& output, std::string_view secret);
  // The one log line per call: {tool_name, ms, code, iter} only (DESIGN.md §6).
  void log_metrics(const Call& call, std::string_view code, double ms);
  // Records a refusal and answers it to the agent as an isError result.
  Json refuse(const Call& call, const std::string& kind, const std::string& reason, Json data = Json::object());
  Result<AuditAck> record(const Call& call, const std::string& kind, Json data);

  const AgentdConfig& m_config;
  RunStore& m_runs;
  GateClient& m_gate;
  PacketCheck& m_packets;
  AuditClient& m_audit;
  const untrusted::MarkerSet& m_markers;
  std::map<std::string, std::unique_ptr<Tool>, std::less<>> m_tools;
  // The untrusted spans of recent runs, in matching form, so that a call does not decode the
  // run's whole history again; runs.db stays the record (a run not cached is loaded from it).
  Result<std::shared_ptr<untrusted::UntrustedSpans>> spans_of(const std::string& run_id);
  static constexpr std::size_t max_cached_runs = 64;
  std::mutex m_spans_mutex;
  std::map<std::string, std::shared_ptr<untrusted::UntrustedSpans>> m_spans;
  std::mutex m_iterations_mutex;
  std::map<std::string, std::int64_t> m_iterations; // calls per run, for the metrics line
  // Where the second of two durable steps runs while the calling thread does the first. Last,
  // so that it stops before anything its tasks use.
  SideThreads m_side;
};

} // namespace cordon::agentd

#include "agentd/gateway.h"

#include <chrono>
#include <cmath>
#include <future>

#include "agentd/untrusted/scanner.h"
#include "agentd/untrusted/taint.h"
#include "common/decision/decision_packet.h"
#include "common/log.h"
#include "common/tools/schema_check.h"
#include "common/utf8.h"

namespace cordon::agentd {
namespace {

constexpr std::size_t max_rationale_bytes = 4096;
// One per call agentd runs at once (its io threads): a call never waits for another's side step.
constexpr unsigned side_threads = 8;
constexpr std::size_t max_citations = 32;
constexpr std::size_t max_argument_bytes = 1 << 20;

Json text_result(std::string text, bool is_error, Json structured = nullptr) {
  Json result = {{"content", Json::array({{{"type", "text"}, {"text", std::move(text)}}})}, {"isError", is_error}};
  if (structured.is_object()) result["structuredContent"] = std::move(structured);
  return result;
}

// The agent's own account of the call, from params._meta: confidence (0..1, as basis points),
// rationale and citations. Absent confidence is 0: the floor asks a human.
struct AgentClaims {
  std::int64_t confidence_bp = 0;
  std::string rationale;
  std::vector<std::string> citations;
};

Result<AgentClaims> claims_of(const Json& meta) {
  AgentClaims claims;
  if (const auto found = meta.find("cordon/confidence"); found != meta.end()) {
    if (!found->is_number() || !(found->get<double>() >= 0.0) || found->get<double>() > 1.0) {
      return fail(Errc::invalid_argument, "_meta cordon/confidence must be a number from 0 to 1");
    }
    claims.confidence_bp = static_cast<std::int64_t>(std::lround(found->get<double>() * 10'000));
  }
  if (const auto found = meta.find("cordon/rationale"); found != meta.end()) {
    if (!found->is_string() || found->get_ref<const std::string&>().size() > max_rationale_bytes) {
      return fail(Errc::invalid_argument, "_meta cordon/rationale must be a string of at most 4096 bytes");
    }
    claims.rationale = found->get<std::string>();
  }
  if (const auto found = meta.find("cordon/citations"); found != meta.end()) {
    if (!found->is_array() || found->size() > max_citations) {
      return fail(Errc::invalid_argument, "_meta cordon/citations must be an array of at most 32 rule ids");
    }
    for (const Json& citation : *found) {
      if (!citation.is_string() || citation.get_ref<const std::string&>().size() > 128) {
        return fail(Errc::invalid_argument, "_meta cordon/citations holds rule ids (strings)");
      }
      claims.citations.push_back(citation.get<std::string>());
    }
  }
  return claims;
}

// The injection classes a run was flagged with ("injection.role_shift" → "role_shift").
std::vector<std::string> injection_classes(const Run& run) {
  std::vector<std::string> classes;
  for (const auto& flag : run.flags) {
    if (flag.starts_with("injection.")) classes.push_back(flag.substr(10));
  }
  return classes;
}

// Cuts `text` to at most `limit` bytes on a character boundary.
std::string bounded(std::string text, std::size_t limit, bool& truncated) {
  truncated = text.size() > limit;
  if (truncated) text = std::string(utf8_prefix(text, limit));
  return text;
}

} // namespace

struct Gateway::Call {
  const mcp::CallContext& context;
  std::string tool;
  Run run;
  std::string decision_id;
};

Gateway::Gateway(Parts parts)
    : m_config(*parts.config), m_runs(*parts.runs), m_gate(*parts.gate), m_packets(*parts.packets),
      m_audit(*parts.audit), m_markers(*parts.markers), m_side(side_threads) {
  for (auto& tool : parts.tools) {
    const std::string name = tool->spec().name;
    m_tools.emplace(name, std::move(tool));
  }
}

Result<void> Gateway::check_run(const std::string& run_id) {
  auto run = m_runs.find(run_id);
  if (!run) return fail(Errc::not_found, "no registered run " + run_id.substr(0, 64));
  return ok();
}

Json Gateway::list_tools() {
  Json list = Json::array();
  for (const auto& [name, tool] : m_tools) {
    const tools::ToolSpec& spec = tool->spec();
    list.push_back({{"name", spec.name},
                    {"title", spec.name},
                    {"description", spec.description},
                    {"inputSchema", spec.input_schema},
                    {"annotations", {{"destructiveHint", spec.irreversible},
                                     {"readOnlyHint", spec.name == "fs.read" || spec.name == "sql.query"},
                                     {"openWorldHint", spec.name == "http.request"}}},
                    {"_meta", {{"cordon/tool_pin", tools::tool_pin(spec)},
                               {"cordon/sensitive_arguments", spec.sensitive_arguments}}}});
  }
  return list;
}

void Gateway::call_tool(const mcp::CallContext& context, const std::string& name, const Json& arguments,
                        CallDone done) {
  done(call(context, name, arguments));
}

Result<AuditAck> Gateway::record(const Call& call, const std::string& kind, Json data) {
  AuditEvent event;
  event.kind = kind;
  event.actor_type = "agent";
  event.actor_id = call.run.agent;
  event.run_id = call.run.id;
  data["tool"] = call.tool;
  data["principal"] = call.context.principal; // which credential the agent came with
  if (!call.decision_id.empty()) data["decision_id"] = call.decision_id;
  event.data = std::move(data);
  return m_audit.record(event);
}

Json Gateway::refuse(const Call& call, const std::string& kind, const std::string& reason, Json data) {
  data["reason"] = reason;
  if (auto recorded = record(call, kind, std::move(data)); !recorded) {
    log::warn("a refused call was not recorded", {{"kind", kind}, {"error", recorded.error().message}});
  }
  return text_result(reason, true);
}

tl::expected<Json, mcp::RpcError> Gateway::call(const mcp::CallContext& context, const std::string& name,
                                                 const Json& arguments) {
  auto run = m_runs.find(context.run_id);
  if (!run) return tl::unexpected(mcp::RpcError{mcp::rpc_code::invalid_request, run.error().message});
  Call call{context, name.substr(0, 128), std::move(*run), {}};

  const auto found = m_tools.find(name);
  if (found == m_tools.end()) {
    (void)refuse(call, "action.refused", "unknown tool");
    return tl::unexpected(mcp::RpcError{mcp::rpc_code::invalid_params, "unknown tool: " + call.tool});
  }
  Tool& tool = *found->second;
  const tools::ToolSpec& spec = tool.spec();
  if (arguments.dump().size() > max_argument_bytes) {
    return refuse(call, "action.refused", "the arguments are larger than 1 MiB");
  }
  if (auto checked = tools::check_against_schema(arguments, spec.input_schema); !checked) {
    return refuse(call, "action.refused", checked.error().message);
  }
  auto claims = claims_of(context.meta);
  if (!claims) return refuse(call, "action.refused", claims.error().message);
  // What the tool can tell before anything happens (a host off the allow-list, a credential
  // that is not this host's) is refused before the gate is asked.
  auto secret = tool.credential_needed(arguments);
  if (!secret) return refuse(call, "action.refused", secret.error().message);

  // What agentd saw of the run: the taint check runs here, on agentd's own record, whatever
  // the agent claims.
  std::vector<std::string> tainted;
  {
    auto seen = spans_of(call.run.id);
    if (!seen) return refuse(call, "action.refused", "the run's record cannot be read: " + seen.error().message);
    const untrusted::TrustedTask task(call.run.task);
    std::lock_guard lock(m_spans_mutex);
    tainted = untrusted::tainted_arguments(arguments, spec.sensitive_arguments, untrusted::TaintContext{task, **seen});
  }
  const bool overflowed = std::find(call.run.flags.begin(), call.run.flags.end(), "untrusted_overflow") != call.run.flags.end();
  if (overflowed) {
    // Content the run's record could not keep may have planted anything: every sensitive
    // argument counts as tainted.
    tainted.clear();
    for (const auto& sensitive : spec.sensitive_arguments) {
      if (arguments.contains(sensitive)) tainted.push_back(sensitive);
    }
  }
  const Json observed = {{"untrusted_spans", call.run.untrusted_spans},
                         {"injection_flags", injection_classes(call.run)},
                         {"tainted_arguments", tainted}};
  const std::string pin = tools::tool_pin(spec);
  const Json proposal = {{"run_id", call.run.id},           {"agent", call.run.agent},
                         {"tool", spec.name},               {"tool_pin", pin},
                         {"arguments", arguments},          {"confidence_bp", claims->confidence_bp},
                         {"rationale", claims->rationale},  {"citations", claims->citations},
                         {"observed", observed}};

  auto packet = m_gate.decide(proposal);
  if (!packet) {
    const std::string reason = packet.error().code == Errc::unavailable
                                   ? "the gate is closed, nothing was done: " + packet.error().message
                                   : "approvald refused the proposal: " + packet.error().message;
    return refuse(call, "action.refused", reason);
  }
  const Json action = {{"tool", spec.name}, {"tool_pin", pin}, {"arguments", arguments}, {"target", nullptr}};
  auto digest = decision::action_digest(m_config.tenant, action);
  if (!digest) return refuse(call, "action.refused", "the call has no digest: " + digest.error().message);
  auto key = m_gate.decision_public_key();
  if (!key) return refuse(call, "action.refused", "the decision cannot be verified, nothing was done: " + key.error().message);
  auto decision = m_packets.verify(*packet, *digest, *key);
  if (!decision) {
    const bool forged = decision.error().rejection == decision::Rejection::signature;
    return refuse(call, forged ? "action.signature_rejected" : "action.refused",
                  "the decision packet was refused (" + std::string(decision::rejection_name(decision.error().rejection)) +
                      "): " + decision.error().error.message);
  }
  call.decision_id = decision->id;
  const Json rules = decision->rules;
  if (decision->verdict == "deny") {
    return refuse(call, "action.refused", "denied by " + rules.dump(), {{"rules", rules}});
  }
  if (decision->verdict == "pending") {
    const std::string approval_id = decision->approval.value("id", "");
    Json held = {{"approval_id", approval_id}, {"rules", rules}};
    std::string reason = "held for a human: approval " + approval_id;
    if (!m_config.approval_url.empty()) {
      held["approval_url"] = m_config.approval_url + "/" + approval_id;
      reason += " (" + held["approval_url"].get<std::string>() + ")";
    }
    reason += " under " + rules.dump() + "; make the same call again once it is approved";
    if (auto recorded = record(call, "action.held", held); !recorded) {
      log::warn("a held call was not recorded", {{"error", recorded.error().message}});
    }
    Json result = text_result(reason, true, held);
    return result;
  }
  return execute(call, tool, Execution{arguments, *decision, *packet, action, *secret});
}

Json Gateway::execute(Call& call, Tool& tool, const Execution& execution) {
  const Json& arguments = execution.arguments;
  const std::string& mode = execution.decision.mode;
  // The nonce is spent and tool.started made durable at the same time (two fsyncs in parallel);
  // the call runs only when both succeeded.
  auto starting = m_side.run([&] { return record(call, "tool.started", {{"mode", mode}}); });
  auto spent = m_packets.spend(execution.decision);
  auto started = starting.get();
  if (!spent) {
    return refuse(call, "action.refused", "the decision packet was refused (replayed): " + spent.error().message);
  }
  if (!started) {
    return text_result("not executed: the audit ledger did not take the start of the call: " + started.error().message, true);
  }
  const auto begin = std::chrono::steady_clock::now();
  Result<ToolOutput> output = fail(Errc::internal, "not run");
  std::optional<GateClient::Lease> lease;
  if (mode != "live") {
    output = tool.simulate(arguments, call.run.id);
  } else if (execution.secret.empty()) {
    output = tool.run(arguments, call.run.id);
  } else {
    auto leased = m_gate.lease(execution.packet, execution.action, execution.secret, call.run.id);
    if (!leased) {
      output = fail(leased.error().code, "the credential was not leased: " + leased.error().message);
    } else {
      lease = std::move(*leased);
      const std::string_view value(reinterpret_cast<const char*>(lease->value.data()), lease->value.size());
      output = tool.run_with_credential(arguments, call.run.id, value);
      if (output) redact(*output, value);
      m_gate.release(lease->id);
    }
  }
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - begin).count();
  const Json elapsed = std::round(ms * 1000) / 1000;
  log_metrics(call, output ? "ok" : errc_name(output.error().code), ms);
  if (!output) {
    (void)record(call, "tool.executed", {{"mode", mode}, {"outcome", "error"}, {"error", output.error().message}, {"ms", elapsed}});
    return text_result(tool.spec().name + " failed: " + output.error().message, true);
  }

  std::string text = std::move(output->text);
  std::vector<std::string> flags;
  if (output->untrusted) {
    // The agent sees the text with hidden characters removed; the run keeps exactly that as an
    // untrusted span, so that the taint check sees what the agent saw.
    untrusted::ScanResult scanned = untrusted::scan(m_markers, text);
    text = std::move(scanned.clean_text);
    flags = scanned.flags;
  }
  bool truncated = false;
  std::string shown = bounded(text, m_config.max_result_bytes, truncated);
  Json data = {{"mode", mode},          {"outcome", "ok"},      {"ms", elapsed},
               {"result", output->audit}, {"returned_bytes", shown.size()}, {"truncated", truncated},
               {"untrusted", output->untrusted}, {"injection_flags", flags}};
  // The span (with the run's flags) and tool.executed are made durable at the same time; the
  // agent gets the result only when both are.
  auto keeping = m_side.run([&]() -> Result<void> {
    if (!output->untrusted) return ok();
    CORDON_TRY_VOID(m_runs.add_span(call.run.id, tool.spec().name, text));
    {
      std::lock_guard lock(m_spans_mutex);
      if (const auto cached = m_spans.find(call.run.id); cached != m_spans.end()) cached->second->add(text);
    }
    if (!flags.empty()) CORDON_TRY_VOID(m_runs.flag(call.run.id, "prompt_injection_suspected"));
    for (const auto& flag : flags) CORDON_TRY_VOID(m_runs.flag(call.run.id, "injection." + flag));
    return ok();
  });
  auto recorded = record(call, "tool.executed", std::move(data));
  auto kept = keeping.get();
  if (!kept) {
    (void)record(call, "tool.withheld", {{"reason", "the result could not be kept as untrusted content: " + kept.error().message}});
    return text_result("the result could not be kept as untrusted content, so it is withheld: " + kept.error().message, true);
  }
  if (!recorded) {
    return text_result("the call ran but its outcome was not recorded, so the result is withheld: " + recorded.error().message, true);
  }
  text = std::move(shown);
  Json result = text_result(std::move(text), false, output->structured);
  result["_meta"] = {{"cordon/decision_id", call.decision_id}, {"cordon/mode", mode},
                     {"cordon/untrusted", output->untrusted}, {"cordon/truncated", truncated}};
  if (!flags.empty()) result["_meta"]["cordon/injection_flags"] = flags;
  return result;
}

Result<std::shared_ptr<untrusted::UntrustedSpans>> Gateway::spans_of(const std::string& run_id) {
  // Loaded under the lock, so that a span kept meanwhile is either in what is loaded or added
  // to the cached copy afterwards, never lost between the two.
  std::lock_guard lock(m_spans_mutex);
  if (const auto cached = m_spans.find(run_id); cached != m_spans.end()) return cached->second;
  auto texts = CORDON_TRY(m_runs.spans(run_id));
  auto seen = std::make_shared<untrusted::UntrustedSpans>();
  for (const auto& text : texts) seen->add(text);
  if (m_spans.size() >= max_cached_runs) m_spans.erase(m_spans.begin()); // any: it reloads from runs.db
  return m_spans.emplace(run_id, std::move(seen)).first->second;
}

void Gateway::redact(ToolOutput& output, std::string_view secret) {
  if (secret.empty()) return;
  const auto scrub = [secret](std::string& text) {
    for (std::size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at)) {
      text.replace(at, secret.size(), "[redacted]");
    }
  };
  scrub(output.text);
  const std::function<void(Json&)> walk = [&](Json& value) {
    if (value.is_string()) {
      scrub(value.get_ref<std::string&>());
    } else if (value.is_structured()) {
      for (auto& child : value) walk(child);
    }
  };
  walk(output.structured);
  walk(output.audit);
}

void Gateway::log_metrics(const Call& call, std::string_view code, double ms) {
  std::int64_t iter = 0;
  {
    std::lock_guard lock(m_iterations_mutex);
    iter = ++m_iterations[call.run.id];
  }
  // The telemetry whitelist: these four fields, nothing else (no arguments, outputs or content).
  log::info("tool call", {{"tool_name", call.tool}, {"ms", std::to_string(std::lround(ms))},
                          {"code", std::string(code)}, {"iter", std::to_string(iter)}});
}

} // namespace cordon::agentd

#include "agentd/routes.h"

#include "agentd/api.h"
#include "common/audit/access_denied.h"
#include "common/clock.h"
#include "common/crypto.h"
#include "common/encoding.h"
#include "common/ipc/json_route.h"
#include "common/log.h"
#include "common/utf8.h"

namespace cordon::agentd {
namespace {

using ipc::Method;
using ipc::Peer;
using ipc::Request;
using ipc::Responder;

std::optional<std::string> header_of(const Request& request, std::string_view name) {
  const auto value = request.headers.find(name);
  if (!value) return std::nullopt;
  return std::string(*value);
}

ipc::Response mcp_response(const mcp::Outgoing& out) {
  ipc::Response response;
  response.status = out.status;
  if (out.body) {
    response = ipc::json_response(out.status, *out.body);
  }
  if (out.session_id) response.headers.push_back({"Mcp-Session-Id", *out.session_id});
  return response;
}

Json run_json(const Run& run) {
  return {{"run_id", run.id},          {"agent", run.agent},
          {"task", run.task},          {"registered_by", run.registered_by},
          {"created_at", run.created_at}, {"flags", run.flags},
          {"untrusted_spans", run.untrusted_spans}};
}

Result<Json> register_run(RunStore& runs, AuditClient& audit, const Peer& peer, const Json& body) {
  for (const auto& [key, value] : body.items()) {
    if (key != "agent" && key != "task") return fail(Errc::unknown_field, "unknown member \"" + key + "\"");
  }
  if (!body.contains("agent") || !body["agent"].is_string()) return fail(Errc::invalid_argument, "agent must be a string");
  if (!body.contains("task") || !body["task"].is_string()) return fail(Errc::invalid_argument, "task must be a string");
  auto run = CORDON_TRY(runs.register_run(body["agent"], body["task"], peer.principal,
                                          format_rfc3339_micros(SystemClock::instance().now())));
  AuditEvent event{"run.registered", "human", peer.principal, run.id,
                   {{"agent", run.agent}, {"task", run.task},
                    {"task_sha256", to_hex(crypto::sha256(run.task))}}, {}};
  if (auto recorded = audit.record(event); !recorded) {
    return fail(Errc::unavailable, "the run was not recorded, so it cannot be used: " + recorded.error().message);
  }
  return run_json(run);
}

Json pending_json(const PendingDelete& pending) {
  return {{"id", pending.id}, {"run_id", pending.run_id}, {"path", pending.path},
          {"hard_phase_at", pending.due_at}, {"state", pending.state}};
}

Result<Json> reinstate(TwoPhaseDeletes& deletes, AuditClient& audit, const Peer& peer, const std::string& id) {
  auto pending = CORDON_TRY(deletes.reinstate(id));
  AuditEvent event{"tool.reinstated", "human", peer.principal, pending.run_id,
                   {{"pending_id", pending.id}, {"path", pending.path}, {"tool", "fs.delete"}}, {}};
  if (auto recorded = audit.record(event); !recorded) {
    // The file is back; say so, and that the ledger did not take it (an operator sees this).
    return fail(Errc::unavailable, "reinstated " + pending.path + ", but the ledger did not record it: " + recorded.error().message);
  }
  return pending_json(pending);
}

} // namespace

std::shared_ptr<ipc::Router> make_router(mcp::McpServer& mcp, RunStore& runs, TwoPhaseDeletes& deletes, AuditClient& audit) {
  auto router = std::make_shared<ipc::Router>();
  mcp::McpServer* server = &mcp;
  RunStore* store = &runs;
  AuditClient* ledger = &audit;
  router->add(Method::post, "/mcp", {"agent"}, [server](const Request& request, const Peer& peer, Responder respond) {
    mcp::Incoming incoming{request.body, header_of(request, "mcp-session-id"), header_of(request, "mcp-protocol-version"),
                           header_of(request, "cordon-run-id"), peer.principal};
    server->handle(incoming, [respond](mcp::Outgoing out) { respond(mcp_response(out)); });
  });
  router->add(Method::delete_, "/mcp", {"agent"}, [server](const Request& request, const Peer& peer, Responder respond) {
    const auto session = header_of(request, "mcp-session-id");
    if (!session) return respond(ipc::problem_response(400, Errc::invalid_argument, "no Mcp-Session-Id"));
    if (!server->close_session(*session, peer.principal)) return respond(ipc::problem_response(404, Errc::not_found, "unknown session"));
    respond(ipc::Response{204, {}, {}, {}});
  });
  router->add(Method::post, "/v1/runs", {"admin", "integration"},
              [store, ledger](const Request& request, const Peer& peer, Responder respond) {
                auto body = ipc::json_object_body(request, max_request_body_bytes);
                if (!body) return ipc::answer_json(respond, tl::unexpected(body.error()));
                ipc::answer_json(respond, register_run(*store, *ledger, peer, *body), 201);
              });
  router->add_prefix(Method::get, "/v1/runs/", {"admin", "integration"},
                     [store](const Request& request, const Peer&, Responder respond) {
                       auto run = store->find(request.path.substr(std::string_view("/v1/runs/").size()));
                       if (!run) return ipc::answer_json(respond, tl::unexpected(run.error()));
                       ipc::answer_json(respond, run_json(*run));
                     });
  TwoPhaseDeletes* two_phase = &deletes;
  router->add(Method::get, "/v1/pending", {"admin"}, [two_phase](const Request&, const Peer&, Responder respond) {
    auto pending = two_phase->list();
    if (!pending) return ipc::answer_json(respond, tl::unexpected(pending.error()));
    Json list = Json::array();
    for (const auto& entry : *pending) list.push_back(pending_json(entry));
    ipc::answer_json(respond, Json{{"pending", list}});
  });
  router->add_prefix(Method::post, "/v1/pending/", {"admin"},
                     [two_phase, ledger](const Request& request, const Peer& peer, Responder respond) {
                       const std::string_view rest = std::string_view(request.path).substr(std::string_view("/v1/pending/").size());
                       constexpr std::string_view suffix = "/reinstate";
                       if (!rest.ends_with(suffix) || rest.size() == suffix.size()) {
                         return respond(ipc::problem_response(404, Errc::not_found, "POST /v1/pending/{id}/reinstate"));
                       }
                       const std::string id(rest.substr(0, rest.size() - suffix.size()));
                       ipc::answer_json(respond, reinstate(*two_phase, *ledger, peer, id));
                     });
  router->add(Method::get, "/v1/status", {"admin", "integration", "agent", "agentd", "approvald", "auditd", "secretsd"},
              [server](const Request&, const Peer&, Responder respond) {
                respond(ipc::json_response(200, {{"sessions", server->sessions().size()}}));
              });
  router->set_denied_hook(access_denied_recorder(audit, "agentd"));
  router->set_refused_hook(request_refused_recorder(audit, "agentd"));
  // JSON-RPC messages agentd refused itself; a tool's refusals are the gateway's to record.
  mcp.set_refusal_hook([ledger](const mcp::Refusal& refusal) {
    AuditEvent event;
    event.kind = "mcp.refused";
    event.actor_id = "agentd";
    // What the agent sent is kept short: the run it named (unchecked, so not the event's run_id),
    // its method and the error's message.
    constexpr std::size_t kept_bytes = 256;
    const auto message = refusal.error.value("message", std::string());
    event.data = {{"principal", refusal.principal},
                  {"run_id", refusal.run_id ? Json(std::string(utf8_prefix(*refusal.run_id, kept_bytes))) : Json()},
                  {"method", std::string(utf8_prefix(refusal.method, kept_bytes))},
                  {"status", refusal.status},
                  {"code", refusal.error.value("code", 0)},
                  {"message", std::string(utf8_prefix(message, kept_bytes))}};
    if (auto recorded = ledger->record(event); !recorded)
      log::warn("a refused MCP message was not recorded", {{"error", recorded.error().message}});
  });
  return router;
}

} // namespace cordon::agentd

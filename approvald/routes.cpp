#include "approvald/routes.h"

#include "approvald/api.h"
#include "common/tools/tool_catalog.h"
#include "common/audit/access_denied.h"
#include "common/ipc/json_route.h"
#include "common/ipc/problem.h"

namespace cordon::approvald {
namespace {

using ipc::Method;
using ipc::Peer;
using ipc::Request;
using ipc::Responder;

void answer(const Responder& respond, const Result<Json>& result, int status = 200) {
  ipc::answer_json(respond, result, status);
}

Result<Json> body_of(const Request& request) { return ipc::json_object_body(request, max_request_body_bytes); }

} // namespace

std::shared_ptr<ipc::Router> make_router(Gate& gate, AuditClient& audit) {
  auto router = std::make_shared<ipc::Router>();
  Gate* g = &gate;
  router->add(Method::post, "/v1/decisions", {"agentd"}, [g](const Request& request, const Peer& peer, Responder respond) {
    auto body = body_of(request);
    if (!body) return answer(respond, tl::unexpected(body.error()));
    answer(respond, g->decide(peer, *body), 201);
  });
  router->add_prefix(Method::get, "/v1/decisions/", {"agentd", "admin"}, [g](const Request& request, const Peer&, Responder respond) {
    answer(respond, g->decision(request.path.substr(std::string_view("/v1/decisions/").size())));
  });
  router->add(Method::get, "/v1/status", {"admin", "agentd", "approvald", "auditd", "secretsd"},
              [g](const Request&, const Peer&, Responder respond) { respond(ipc::json_response(200, g->status())); });
  router->add(Method::get, "/v1/tools", {"admin", "agentd", "approvald", "auditd", "secretsd"},
              [](const Request&, const Peer&, Responder respond) {
                Json list = Json::array();
                for (const auto& tool : tools::builtin_tools()) {
                  Json entry = tools::tool_definition(tool);
                  entry["tool_pin"] = tools::tool_pin(tool);
                  list.push_back(std::move(entry));
                }
                respond(ipc::json_response(200, {{"tools", list}}));
              });
  router->add(Method::get, "/v1/approvals", {"admin"}, [g](const Request&, const Peer&, Responder respond) {
    answer(respond, g->pending_approvals());
  });
  router->add(Method::post, "/v1/mode", {"admin"}, [g](const Request& request, const Peer& peer, Responder respond) {
    auto body = body_of(request);
    if (!body) return answer(respond, tl::unexpected(body.error()));
    answer(respond, g->request_mode(peer, *body), 202);
  });
  router->add(Method::post, "/v1/policy/reload", {"admin"}, [g](const Request& request, const Peer& peer, Responder respond) {
    auto body = body_of(request);
    if (!body) return answer(respond, tl::unexpected(body.error()));
    if (!body->empty()) return answer(respond, fail(Errc::unknown_field, "POST /v1/policy/reload takes an empty object"));
    answer(respond, g->reload(peer.principal));
  });
  router->set_denied_hook(access_denied_recorder(audit, "approvald"));
  router->set_refused_hook(request_refused_recorder(audit, "approvald"));
  return router;
}

} // namespace cordon::approvald

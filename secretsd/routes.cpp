#include "secretsd/routes.h"

#include "common/audit/access_denied.h"
#include "common/ipc/json_route.h"
#include "common/ipc/problem.h"
#include "secretsd/api.h"

namespace cordon::secretsd {
namespace {

using ipc::Method;
using ipc::Peer;
using ipc::Request;
using ipc::Responder;

void answer(const Responder& respond, const Result<Json>& result, int status = 200) {
  ipc::answer_json(respond, result, status);
}

Result<Json> body_of(const Request& request) { return ipc::json_object_body(request, max_request_body_bytes); }

// "/v1/secrets/<name>" or "/v1/secrets/<name>/rotate" -> name; the rest is for the router.
std::string_view tail_of(std::string_view path, std::string_view prefix) { return path.substr(prefix.size()); }

// Who records a refusal of a request with a body: the operation itself (leases, signatures,
// TOTP: `lease.refused`, `sign.refused`, `totp.refused`), or the route, as `request.refused`, for
// operations that record only what they do. A body that does not parse is the route's either way.
enum class Refusals { by_operation, by_route };

template <class Call>
void with_body(AuditClient& audit, const Request& request, const Peer& peer, const Responder& respond, int status,
               Refusals refusals, Call call) {
  const auto refused = [&](const Error& error) {
    record_request_refused(audit, "secretsd", request, peer, ipc::http_status(error.code), error.message);
  };
  auto body = body_of(request);
  if (!body) {
    refused(body.error());
    return answer(respond, tl::unexpected(body.error()));
  }
  auto result = call(*body);
  if (!result && refusals == Refusals::by_route && ipc::http_status(result.error().code) < 500) refused(result.error());
  answer(respond, result, status);
}

} // namespace

std::shared_ptr<ipc::Router> make_router(Custodian& custodian, AuditClient& audit) {
  auto router = std::make_shared<ipc::Router>();
  Custodian* c = &custodian;
  AuditClient* a = &audit;
  router->add(Method::get, "/v1/status", {"admin", "agentd", "approvald", "auditd"},
              [c](const Request&, const Peer&, Responder respond) { respond(ipc::json_response(200, c->status())); });
  router->add(Method::get, "/v1/secrets", {"admin"},
              [c](const Request&, const Peer& peer, Responder respond) { answer(respond, c->list_secrets(peer)); });
  router->add_prefix(Method::put, "/v1/secrets/", {"admin"}, [c, a](const Request& request, const Peer& peer, Responder respond) {
    const auto name = tail_of(request.path, "/v1/secrets/");
    with_body(*a, request, peer, respond, 201, Refusals::by_route, [&](const Json& body) { return c->put_secret(peer, name, body); });
  });
  router->add_prefix(Method::post, "/v1/secrets/", {"admin"}, [c, a](const Request& request, const Peer& peer, Responder respond) {
    auto name = tail_of(request.path, "/v1/secrets/");
    if (!name.ends_with("/rotate")) return answer(respond, fail(Errc::not_found, "POST /v1/secrets/{name}/rotate only"));
    name.remove_suffix(std::string_view("/rotate").size());
    with_body(*a, request, peer, respond, 200, Refusals::by_route, [&](const Json& body) { return c->rotate_secret(peer, name, body); });
  });
  router->add_prefix(Method::delete_, "/v1/secrets/", {"admin"}, [c](const Request& request, const Peer& peer, Responder respond) {
    answer(respond, c->delete_secret(peer, tail_of(request.path, "/v1/secrets/")));
  });
  router->add(Method::get, "/v1/keys", {"admin", "agentd", "approvald", "auditd"},
              [c](const Request&, const Peer&, Responder respond) { answer(respond, c->list_keys()); });
  router->add(Method::post, "/v1/keys/checkpoint", {"auditd"}, [c, a](const Request& request, const Peer& peer, Responder respond) {
    with_body(*a, request, peer, respond, 201, Refusals::by_operation, [&](const Json& body) { return c->create_checkpoint_key(peer, body); });
  });
  router->add(Method::post, "/v1/keys", {"admin"}, [c, a](const Request& request, const Peer& peer, Responder respond) {
    with_body(*a, request, peer, respond, 201, Refusals::by_route, [&](const Json& body) { return c->create_customer_key(peer, body); });
  });
  router->add(Method::post, "/v1/sign", {"approvald", "auditd", "agentd"}, [c, a](const Request& request, const Peer& peer, Responder respond) {
    with_body(*a, request, peer, respond, 200, Refusals::by_operation, [&](const Json& body) { return c->sign(peer, body); });
  });
  router->add(Method::post, "/v1/leases", {"agentd"}, [c, a](const Request& request, const Peer& peer, Responder respond) {
    with_body(*a, request, peer, respond, 201, Refusals::by_operation, [&](const Json& body) { return c->issue_lease(peer, body); });
  });
  router->add_prefix(Method::delete_, "/v1/leases/", {"agentd"}, [c](const Request& request, const Peer& peer, Responder respond) {
    answer(respond, c->release_lease(peer, tail_of(request.path, "/v1/leases/")));
  });
  router->add(Method::post, "/v1/totp/verify", {"approvald"}, [c, a](const Request& request, const Peer& peer, Responder respond) {
    with_body(*a, request, peer, respond, 200, Refusals::by_operation, [&](const Json& body) { return c->verify_totp(peer, body); });
  });
  router->add(Method::post, "/v1/shred", {"admin"}, [c, a](const Request& request, const Peer& peer, Responder respond) {
    with_body(*a, request, peer, respond, 200, Refusals::by_route, [&](const Json& body) { return c->shred(peer, body); });
  });
  router->set_denied_hook(access_denied_recorder(audit, "secretsd"));
  router->set_refused_hook(request_refused_recorder(audit, "secretsd"));
  return router;
}

} // namespace cordon::secretsd

#include "auditd/routes.h"

#include <fmt/format.h>

#include "auditd/api.h"
#include "auditd/tile_path.h"
#include "common/ipc/problem.h"
#include "common/json_document.h"
#include "common/log.h"

namespace cordon::auditd {
namespace {

using ipc::Method;
using ipc::Peer;
using ipc::Request;
using ipc::Responder;

void answer_error(const Responder& respond, const Error& error) {
  respond(ipc::problem_response(error));
}

void append_events(AuditServices& services, const Request& request, const Peer& peer,
                   Responder respond) {
  if (!request.content_type().starts_with("application/json")) {
    return answer_error(respond, Error{Errc::invalid_argument, "Content-Type must be application/json"});
  }
  // JsonDocument, not parse_json: this is the daemon's hottest path, and the prepared events
  // are the same bytes either way.
  auto body = JsonDocument::parse(request.body, JsonLimits{.max_bytes = max_request_body_bytes, .max_depth = 32});
  if (!body) return answer_error(respond, body.error());
  const bool batch = body->root().is_array();
  auto events = ledger::prepare_events(body->root(), services.ledger.context(peer.principal),
                                       max_events_per_request);
  if (!events) return answer_error(respond, events.error());
  services.ledger.append(std::move(*events), [respond, batch](Result<std::vector<ledger::Ack>> acks) {
    if (!acks) return answer_error(respond, acks.error());
    respond(ipc::text_response(201, acks_body(*acks, batch), "application/json"));
  });
}

void read_events(AuditServices& services, const Request& request, Responder respond) {
  auto query = parse_events_query(request.query, services.ledger.size());
  if (!query) return answer_error(respond, query.error());
  auto page = services.ledger.events(query->from, query->to, query->filter, query->limit);
  if (!page) return answer_error(respond, page.error());
  std::string body;
  for (const auto& entry : page->entries) {
    body += entry.leaf;
    body += '\n';
  }
  auto response = ipc::text_response(200, std::move(body), "application/jsonl");
  response.headers.push_back({"Cordon-Next-Index", std::to_string(page->next)});
  respond(std::move(response));
}

void inclusion_proof(AuditServices& services, const Request& request, Responder respond) {
  auto query = parse_inclusion_query(request.query, services.ledger.size());
  if (!query) return answer_error(respond, query.error());
  auto proof = services.ledger.inclusion_proof(query->index, query->size);
  if (!proof) return answer_error(respond, proof.error());
  auto leaf = services.ledger.leaf_hash(query->index);
  if (!leaf) return answer_error(respond, leaf.error());
  respond(ipc::json_response(200, Json{{"index", query->index},
                                       {"size", query->size},
                                       {"leaf_hash", ledger::hash_to_base64(*leaf)},
                                       {"hashes", hashes_json(*proof)}}));
}

void consistency_proof(AuditServices& services, const Request& request, Responder respond) {
  auto query = parse_consistency_query(request.query, services.ledger.size());
  if (!query) return answer_error(respond, query.error());
  auto proof = services.ledger.consistency_proof(query->old_size, query->new_size);
  if (!proof) return answer_error(respond, proof.error());
  respond(ipc::json_response(200, Json{{"old", query->old_size},
                                       {"new", query->new_size},
                                       {"hashes", hashes_json(*proof)}}));
}

void serve_tile(AuditServices& services, const Request& request, Responder respond) {
  if (!request.query.empty())
    return answer_error(respond, Error{Errc::invalid_argument, "tiles take no query"});
  auto tile = parse_tile_path(request.path);
  if (!tile) return answer_error(respond, tile.error());
  auto bytes = tile->entries ? services.ledger.entry_bundle(tile->index, tile->width)
                             : services.ledger.tile(tile->level, tile->index, tile->width);
  if (!bytes) return answer_error(respond, bytes.error());
  auto response = ipc::text_response(200, std::move(*bytes), "application/octet-stream");
  // A full tile never changes; a partial one is replaced by a wider one as the log grows.
  response.headers.push_back({"Cache-Control", tile->width == 256 ? "public, max-age=31536000, immutable"
                                                                   : "no-cache"});
  respond(std::move(response));
}

void checkpoint(AuditServices& services, Responder respond) {
  auto note = services.checkpoints.latest();
  if (!note) return answer_error(respond, note.error());
  respond(ipc::text_response(200, std::move(*note)));
}

void status(AuditServices& services, Responder respond) {
  const auto head = services.ledger.head();
  respond(ipc::json_response(200, Json{{"tenant", services.tenant},
                                       {"size", head.size},
                                       {"root", ledger::hash_to_base64(head.root)},
                                       {"checkpoint_size", services.checkpoints.last_size()},
                                       {"verifier_key", services.signer.ready() ? Json(services.signer.verifier_key().to_string()) : Json()},
                                       {"recovered_bytes", services.ledger.recovered_bytes()},
                                       {"sinks", services.sink_status()}}));
}

// Registers the read routes for `roles` on `router`.
void add_read_routes(ipc::Router& router, AuditServices& services,
                     std::initializer_list<std::string_view> roles) {
  auto* s = &services;
  router.add(Method::get, "/v1/events", roles,
             [s](const Request& request, const Peer&, Responder respond) { read_events(*s, request, respond); });
  router.add(Method::get, "/v1/checkpoint", roles,
             [s](const Request&, const Peer&, Responder respond) { checkpoint(*s, respond); });
  router.add(Method::get, "/v1/verifier-key", roles, [s](const Request&, const Peer&, Responder respond) {
    if (!s->signer.ready()) return answer_error(respond, Error{Errc::unavailable, "the checkpoint key is not available yet"});
    respond(ipc::text_response(200, s->signer.verifier_key().to_string() + "\n"));
  });
  router.add(Method::get, "/v1/proof/inclusion", roles,
             [s](const Request& request, const Peer&, Responder respond) { inclusion_proof(*s, request, respond); });
  router.add(Method::get, "/v1/proof/consistency", roles,
             [s](const Request& request, const Peer&, Responder respond) { consistency_proof(*s, request, respond); });
  router.add_prefix(Method::get, "/tile/", roles,
                    [s](const Request& request, const Peer&, Responder respond) { serve_tile(*s, request, respond); });
}

// Appends an access.denied event for a refused request; never blocks the connection.
void audit_denial(ledger::Ledger& ledger, const Request& request, const Peer& peer,
                  std::string_view reason) {
  Json data = {{"principal", peer.principal},
               {"uid", peer.uid == Peer::unknown_id ? Json() : Json(peer.uid)},
               {"transport", peer.transport == ipc::Transport::tls ? "tls" : "unix"},
               {"reason", std::string(reason)}};
  // A client certificate refused during the TLS handshake comes without a request.
  if (!request.path.empty()) {
    data["method"] = std::string(ipc::method_name(request.method));
    data["path"] = request.path;
  }
  if (!peer.remote_address.empty()) data["remote_address"] = peer.remote_address;
  if (!peer.tls_subject.empty()) data["tls_subject"] = peer.tls_subject;
  Json event = {{"kind", "access.denied"}, {"actor", {{"type", "system"}, {"id", "auditd"}}}, {"data", std::move(data)}};
  auto prepared = ledger::prepare_events(event, ledger.context("auditd"));
  if (!prepared) {
    log::error("cannot record a refusal", {{"error", prepared.error().message}});
    return;
  }
  ledger.append(std::move(*prepared), [](Result<std::vector<ledger::Ack>> acks) {
    if (!acks) log::error("cannot record a refusal", {{"error", acks.error().message}});
  });
}

} // namespace

std::shared_ptr<ipc::Router> make_local_router(AuditServices& services) {
  auto router = std::make_shared<ipc::Router>();
  auto* s = &services;
  router->add(Method::post, "/v1/events", {"agentd", "approvald", "secretsd", "admin"},
              [s](const Request& request, const Peer& peer, Responder respond) {
                append_events(*s, request, peer, std::move(respond));
              });
  add_read_routes(*router, services, {"admin", "approvald", "auditor"});
  router->add(Method::get, "/v1/status", {"admin"},
              [s](const Request&, const Peer&, Responder respond) { status(*s, respond); });
  router->set_denied_hook([s](const Request& request, const Peer& peer, std::string_view reason) {
    audit_denial(s->ledger, request, peer, reason);
  });
  return router;
}

std::shared_ptr<ipc::Router> make_auditor_router(AuditServices& services) {
  auto router = std::make_shared<ipc::Router>();
  add_read_routes(*router, services, {"auditor"});
  auto* s = &services;
  router->set_denied_hook([s](const Request& request, const Peer& peer, std::string_view reason) {
    audit_denial(s->ledger, request, peer, reason);
  });
  return router;
}

} // namespace cordon::auditd

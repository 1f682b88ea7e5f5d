#include "common/audit/access_denied.h"

#include "common/log.h"

namespace cordon {

ipc::DeniedHook access_denied_recorder(AuditClient& audit, std::string actor_id) {
  return [&audit, actor_id = std::move(actor_id)](const ipc::Request& request, const ipc::Peer& peer, std::string_view reason) {
    AuditEvent event;
    event.kind = "access.denied";
    event.actor_id = actor_id;
    event.data = {{"principal", peer.principal}, {"uid", peer.uid}, {"reason", std::string(reason)},
                  {"method", std::string(ipc::method_name(request.method))}, {"path", request.path}};
    if (auto recorded = audit.record(event); !recorded) log::warn("a refusal was not recorded", {{"error", recorded.error().message}});
  };
}

void record_request_refused(AuditClient& audit, std::string_view actor_id, const ipc::Request& request,
                            const ipc::Peer& peer, int status, std::string_view reason) {
  AuditEvent event;
  event.kind = "request.refused";
  event.actor_id = std::string(actor_id);
  event.data = {{"principal", peer.principal}, {"uid", peer.uid}, {"status", status}, {"reason", std::string(reason)},
                {"method", std::string(ipc::method_name(request.method))}, {"path", request.path}};
  if (auto recorded = audit.record(event); !recorded) log::warn("a refusal was not recorded", {{"error", recorded.error().message}});
}

ipc::RefusedHook request_refused_recorder(AuditClient& audit, std::string actor_id) {
  return [&audit, actor_id = std::move(actor_id)](const ipc::Request& request, const ipc::Peer& peer, int status,
                                                  std::string_view reason) {
    record_request_refused(audit, actor_id, request, peer, status, reason);
  };
}

} // namespace cordon

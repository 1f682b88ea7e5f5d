#pragma once

#include <string>

#include "common/audit/audit_client.h"
#include "common/ipc/router.h"

namespace cordon {

// A router's DeniedHook that records every refusal for want of a role as `access.denied`
// (principal, uid, reason, method, path) with `actor_id` as the actor. A refusal that cannot be
// recorded is logged; the request is refused either way.
ipc::DeniedHook access_denied_recorder(AuditClient& audit, std::string actor_id);

// Records a request refused for its shape as `request.refused` (principal, uid, method, path,
// status, reason) with `actor_id` as the actor: as a router's RefusedHook for bodies and headers
// that could not be read whole, and from handlers for bodies that did not parse. Logged when it
// cannot be recorded; the request is refused either way.
void record_request_refused(AuditClient& audit, std::string_view actor_id, const ipc::Request& request,
                            const ipc::Peer& peer, int status, std::string_view reason);
ipc::RefusedHook request_refused_recorder(AuditClient& audit, std::string actor_id);

} // namespace cordon

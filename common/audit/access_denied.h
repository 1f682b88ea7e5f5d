#pragma once

#include <string>

#include "common/audit/audit_client.h"
#include "common/ipc/router.h"

namespace cordon {

// A router's DeniedHook that records every refusal for want of a role as `access.denied`
// (principal, uid, reason, method, path) with `actor_id` as the actor. A refusal that cannot be
// recorded is logged; the request is refused either way.
ipc::DeniedHook access_denied_recorder(AuditClient& audit, std::string actor_id);

} // namespace cordon

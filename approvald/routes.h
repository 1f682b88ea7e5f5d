#pragma once

#include <memory>

#include "approvald/gate.h"
#include "common/audit/audit_client.h"
#include "common/ipc/router.h"

namespace cordon::approvald {

// Binds api.h's routes to the gate; refusals for want of a role are recorded as access.denied.
std::shared_ptr<ipc::Router> make_router(Gate& gate, AuditClient& audit);

} // namespace cordon::approvald

#pragma once

#include <memory>

#include "common/ipc/router.h"
#include "secretsd/custodian.h"

namespace cordon::secretsd {

// The Unix-socket routes of api.h, bound to the custodian, which outlives the router. Refusals
// for want of a role are recorded as access.denied events.
std::shared_ptr<ipc::Router> make_router(Custodian& custodian, AuditClient& audit);

} // namespace cordon::secretsd

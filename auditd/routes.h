#pragma once

#include <functional>
#include <memory>

#include "auditd/checkpointer.h"
#include "auditd/ledger/checkpoint_signer.h"
#include "auditd/ledger/ledger.h"
#include "common/ipc/router.h"
#include "common/json.h"

namespace cordon::auditd {

// What the routes serve. Everything outlives the routers.
struct AuditServices {
  ledger::Ledger& ledger;
  Checkpointer& checkpoints;
  const ledger::CheckpointSigner& signer;
  std::string tenant;
  // Sink states for GET /v1/status.
  std::function<Json()> sink_status = [] { return Json::array(); };
};

// The Unix-socket routes (api.h): appends for the daemons and the admin, reads for the admin,
// approvald and auditors. Refusals for want of a role are themselves appended as
// `access.denied` events.
std::shared_ptr<ipc::Router> make_local_router(AuditServices& services);

// The auditor HTTPS routes: the same reads, role auditor only. No write route exists here.
std::shared_ptr<ipc::Router> make_auditor_router(AuditServices& services);

} // namespace cordon::auditd

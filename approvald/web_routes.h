#pragma once

#include <memory>

#include "approvald/approval_desk.h"
#include "common/ipc/router.h"

namespace cordon::approvald {

// The approvers' HTTPS routes (approvald's web listener, role "approver-web"):
//   GET  /a/{token}          the approval page
//   POST /a/{token}          code=<TOTP>&choice=approve|reject (application/x-www-form-urlencoded)
//   GET  /static/cordon.css  the page's stylesheet
// Answers are HTML pages. An unknown link is 404, a used, expired or closed one 410, a wrong
// code 403, secretsd or auditd out of reach 503.
std::shared_ptr<ipc::Router> make_web_router(ApprovalDesk& desk);

} // namespace cordon::approvald

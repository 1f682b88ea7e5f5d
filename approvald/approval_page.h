#pragma once

#include <string>
#include <string_view>

#include "approvald/approval_desk.h"
#include "common/ipc/http.h"

// The approvers' pages (DESIGN.md §5.4): server-rendered HTML, no script at all, one same-origin
// stylesheet, and a strict Content-Security-Policy. Every value from a proposal is HTML-escaped:
// what the agent wrote is shown, never interpreted.
namespace cordon::approvald {

// The page behind a link: what the agent observed, the exact call and its digest, the rules that
// held it and why, and a form (second factor, approve or reject) posting back to the same link.
ipc::Response approval_page(const ApprovalDesk::LinkView& view);
// After an answer: what happened and what the approval's state is now.
ipc::Response answered_page(const ApprovalDesk::Answer& answer);
// A refusal (unknown, used or expired link; a wrong code) as a page with `status`.
ipc::Response refusal_page(int status, std::string_view message);
// GET /static/cordon.css
ipc::Response stylesheet();

// The headers every page carries: CSP, no framing, no sniffing, no referrer (the link is a
// credential), no caching.
void add_page_headers(ipc::Response& response);

std::string escape_html(std::string_view text);

} // namespace cordon::approvald

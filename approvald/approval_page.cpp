#include "approvald/approval_page.h"

namespace cordon::approvald {
namespace {

constexpr std::string_view css = R"(body{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:1.6rem}
pre{background:#f4f4f4;padding:.8rem;overflow-x:auto;white-space:pre-wrap;word-break:break-all}
code{background:#f4f4f4;padding:0 .2rem}.warn{color:#8a1c00}
table{border-collapse:collapse}td,th{text-align:left;padding:.2rem .8rem .2rem 0;vertical-align:top}
form{margin-top:1.6rem;padding:1rem;border:1px solid #ccc}input[name=code]{font-size:1.2rem;width:8rem;letter-spacing:.2rem}
button{font-size:1rem;margin-right:.8rem;padding:.4rem 1rem}
)";

std::string page(std::string_view title, const std::string& body) {
  return "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" "
         "content=\"width=device-width,initial-scale=1\"><title>" +
         escape_html(title) + "</title><link rel=\"stylesheet\" href=\"/static/cordon.css\"></head><body>\n" + body +
         "</body></html>\n";
}

std::string list_items(const Json& items) {
  std::string out = "<ul>";
  for (const Json& item : items) out += "<li>" + escape_html(item.is_string() ? item.get<std::string>() : item.dump()) + "</li>";
  return out + "</ul>";
}

ipc::Response html(int status, std::string body) {
  ipc::Response response = ipc::text_response(status, std::move(body), "text/html; charset=utf-8");
  add_page_headers(response);
  return response;
}

} // namespace

std::string escape_html(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
    case '&': out += "&amp;"; break;
    case '<': out += "&lt;"; break;
    case '>': out += "&gt;"; break;
    case '"': out += "&quot;"; break;
    case '\'': out += "&#39;"; break;
    default: out += c;
    }
  }
  return out;
}

void add_page_headers(ipc::Response& response) {
  response.headers.push_back({"Content-Security-Policy", "default-src 'none'; style-src 'self'; form-action 'self'; "
                                                         "frame-ancestors 'none'; base-uri 'none'"});
  response.headers.push_back({"X-Content-Type-Options", "nosniff"});
  response.headers.push_back({"X-Frame-Options", "DENY"});
  response.headers.push_back({"Referrer-Policy", "no-referrer"});
  response.headers.push_back({"Cache-Control", "no-store"});
}

ipc::Response approval_page(const ApprovalDesk::LinkView& view) {
  const ApprovalRecord& a = view.approval;
  const Json& proposal = a.proposal;
  const Json& observed = proposal.value("observed", Json::object());
  std::string body = "<h1>Approve this action?</h1>\n";
  body += "<p><strong>" + escape_html(a.agent) + "</strong> asks to run <code>" + escape_html(a.tool) + "</code>. You are <strong>" +
          escape_html(view.approver) + "</strong>; this link works once and expires " + escape_html(view.deadline) + ".</p>\n";
  body += "<h2>Why it was held</h2>" + list_items(a.reasons);
  body += "<h2>The exact call</h2><pre id=\"call\">" + escape_html(proposal.value("arguments", Json::object()).dump(2)) + "</pre>";
  body += "<table><tr><th>Action digest</th><td><code id=\"digest\">" + escape_html(a.action_digest) + "</code></td></tr>";
  body += "<tr><th>Target</th><td>" + escape_html(proposal.value("target", Json()).dump()) + "</td></tr>";
  body += "<tr><th>Confidence</th><td>" + escape_html(proposal.value("confidence_bp", Json(0)).dump()) + " bp</td></tr>";
  body += "<tr><th>Run</th><td>" + escape_html(a.run_id) + "</td></tr></table>";
  body += "<h2>What the agent observed</h2><table><tr><th>Untrusted content</th><td>" +
          escape_html(observed.value("untrusted_spans", Json(0)).dump()) + " spans</td></tr>";
  const Json flags = observed.value("injection_flags", Json::array());
  body += "<tr><th>Injection flags</th><td" + std::string(flags.empty() ? ">" : " class=\"warn\">") +
          escape_html(flags.empty() ? "none" : flags.dump()) + "</td></tr>";
  const Json tainted = observed.value("tainted_arguments", Json::array());
  body += "<tr><th>Arguments from untrusted content</th><td" + std::string(tainted.empty() ? ">" : " class=\"warn\">") +
          escape_html(tainted.empty() ? "none" : tainted.dump()) + "</td></tr></table>";
  body += "<h2>The agent's rationale</h2><pre>" + escape_html(proposal.value("rationale", "")) + "</pre>";
  body += "<form method=\"post\"><label>Your authenticator code <input name=\"code\" inputmode=\"numeric\" "
          "autocomplete=\"one-time-code\" pattern=\"[0-9]{6}\" required></label><p>"
          "<button name=\"choice\" value=\"approve\">Approve</button>"
          "<button name=\"choice\" value=\"reject\">Reject</button>" +
          std::string(view.amendable ? "<button name=\"choice\" value=\"approve_amend\">Approve, and allow calls like this from now on</button>"
                                       "<br><small>No rule matched this call. The third button also adds a rule to the constitution "
                                       "allowing " + escape_html(a.tool) + " calls of this kind, recorded with your answer.</small>"
                                     : "") +
          "</p></form>\n";
  return html(200, page("Cordon approval " + a.id, body));
}

ipc::Response answered_page(const ApprovalDesk::Answer& answer) {
  std::string what = answer.state == "approved"   ? "Approved. The agent may now run this exact call once."
                     : answer.state == "rejected" ? "Rejected. The call will not run."
                                                  : "Your approval is recorded; it needs more approvers before the call may run.";
  std::string body = "<h1 id=\"outcome\">" + escape_html(what) + "</h1><p>Approval <code>" + escape_html(answer.approval_id) +
                     "</code>, answered by " + escape_html(answer.approver) + ", is now <strong id=\"state\">" +
                     escape_html(answer.state) + "</strong>. This link no longer works.</p>\n";
  if (!answer.amended_version.empty())
    body += "<p id=\"amended\">The constitution now allows calls like this one: rule <code>" + escape_html(answer.amended_rule) +
            "</code>, policy <code>" + escape_html(answer.amended_version) + "</code>.</p>\n";
  return html(200, page("Cordon approval " + answer.approval_id, body));
}

ipc::Response refusal_page(int status, std::string_view message) {
  return html(status, page("Cordon approval", "<h1>Not accepted</h1><p id=\"refusal\">" + escape_html(message) + "</p>\n"));
}

ipc::Response stylesheet() {
  ipc::Response response = ipc::text_response(200, std::string(css), "text/css; charset=utf-8");
  response.headers.push_back({"X-Content-Type-Options", "nosniff"});
  response.headers.push_back({"Cache-Control", "max-age=3600"});
  return response;
}

} // namespace cordon::approvald

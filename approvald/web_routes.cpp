#include "approvald/web_routes.h"

#include "approvald/approval_page.h"

namespace cordon::approvald {
namespace {

constexpr std::string_view link_prefix = "/a/";
constexpr std::size_t max_form_bytes = 1024;

int status_for(const Error& error) {
  switch (error.code) {
  case Errc::not_found: return 404;
  case Errc::conflict: return 410;
  case Errc::permission_denied:
  case Errc::unauthenticated: return 403;
  case Errc::unavailable: return 503;
  default: return 400;
  }
}

// The two fields of the form; anything else in it is refused.
Result<std::pair<std::string, std::string>> read_form(const ipc::Request& request) {
  if (!request.content_type().starts_with("application/x-www-form-urlencoded"))
    return fail(Errc::invalid_argument, "the answer comes from the approval form");
  if (request.body.size() > max_form_bytes) return fail(Errc::invalid_argument, "the form is too large");
  std::string code, choice;
  std::string_view rest = request.body;
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    const auto equals = pair.find('=');
    if (equals == std::string_view::npos) return fail(Errc::invalid_argument, "the form is malformed");
    const auto name = pair.substr(0, equals);
    auto value = CORDON_TRY(ipc::percent_decode(pair.substr(equals + 1), true));
    if (name == "code" && code.empty()) code = std::move(value);
    else if (name == "choice" && choice.empty()) choice = std::move(value);
    else return fail(Errc::invalid_argument, "the form holds an unexpected field");
  }
  if (code.empty() || choice.empty()) return fail(Errc::invalid_argument, "enter your code and choose approve or reject");
  return std::pair{code, choice};
}

} // namespace

std::shared_ptr<ipc::Router> make_web_router(ApprovalDesk& desk) {
  auto router = std::make_shared<ipc::Router>();
  ApprovalDesk* d = &desk;
  router->add_prefix(ipc::Method::get, std::string(link_prefix), {"approver-web"},
                     [d](const ipc::Request& request, const ipc::Peer&, ipc::Responder respond) {
                       auto view = d->open_link(request.path.substr(link_prefix.size()));
                       if (!view) return respond(refusal_page(status_for(view.error()), view.error().message));
                       respond(approval_page(*view));
                     });
  router->add_prefix(ipc::Method::post, std::string(link_prefix), {"approver-web"},
                     [d](const ipc::Request& request, const ipc::Peer&, ipc::Responder respond) {
                       auto form = read_form(request);
                       if (!form) return respond(refusal_page(400, form.error().message));
                       auto answer = d->answer(request.path.substr(link_prefix.size()), form->first, form->second);
                       if (!answer) return respond(refusal_page(status_for(answer.error()), answer.error().message));
                       respond(answered_page(*answer));
                     });
  router->add(ipc::Method::get, "/static/cordon.css", {"approver-web"},
              [](const ipc::Request&, const ipc::Peer&, ipc::Responder respond) { respond(stylesheet()); });
  return router;
}

} // namespace cordon::approvald

#include "common/ipc/json_route.h"

#include "common/ipc/http.h"

namespace cordon::ipc {

Result<Json> json_object_body(const Request& request, std::size_t max_bytes) {
  if (!request.content_type().starts_with("application/json"))
    return fail(Errc::invalid_argument, "Content-Type must be application/json");
  auto body = parse_json(request.body, JsonLimits{.max_bytes = max_bytes, .max_depth = 32});
  if (!body) return body;
  if (!body->is_object()) return fail(Errc::invalid_argument, "the body must be a JSON object");
  return body;
}

void answer_json(const Responder& respond, const Result<Json>& result, int status) {
  if (!result) return respond(problem_response(result.error()));
  respond(json_response(status, *result));
}

} // namespace cordon::ipc

#pragma once

#include <cstddef>

#include "common/error.h"
#include "common/ipc/http.h"
#include "common/ipc/router.h"
#include "common/json.h"

namespace cordon::ipc {

// The two halves of a JSON route. The request's body as a JSON object: Content-Type
// application/json, at most `max_bytes`, nesting at most 32, no duplicate keys; otherwise
// Errc::invalid_argument (or too_large) saying which.
Result<Json> json_object_body(const Request& request, std::size_t max_bytes);

// Answers `result`: its value as JSON with `status`, or its error as an RFC 9457 problem.
void answer_json(const Responder& respond, const Result<Json>& result, int status = 200);

} // namespace cordon::ipc

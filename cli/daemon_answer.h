#pragma once

#include <string>
#include <string_view>

#include "common/error.h"
#include "common/ipc/unix_client.h"
#include "common/json.h"

namespace cordon::cli {

// The body of a daemon's answer to one of cordonctl's requests, or why there is none. A daemon
// that cannot be reached is "cannot reach <daemon>: <reason>" (the reason alone when `daemon` is
// empty), with the transport's error code; an answer whose status is not `expected` is the
// daemon's own problem (ipc::error_from_response), its status and detail kept.
Result<std::string> answer_body(Result<ipc::Response> response, std::string_view daemon, int expected = 200);

// The same body parsed as JSON; a body that is not JSON is an error.
Result<Json> answer_json(Result<ipc::Response> response, std::string_view daemon, int expected = 200);

} // namespace cordon::cli

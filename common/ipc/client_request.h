#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "common/ipc/http.h"

namespace cordon::ipc {

// A request as the synchronous clients send it.
struct ClientRequest {
  Method method = Method::get;
  std::string target;       // origin form: "/v1/events?from=3", already percent-encoded
  std::string body;         // sent with Content-Length (also when empty, for POST/PUT/PATCH)
  std::string content_type; // omitted when empty
  std::vector<Header> headers;
};

struct ClientOptions {
  // Bounds one request() call: connecting, sending and receiving the whole response.
  std::chrono::milliseconds timeout{10'000};
  // A larger response body fails with Errc::too_large.
  std::size_t max_response_bytes = 64 << 20;
  std::size_t max_response_header_bytes = 64 << 10;
};

// The error a problem response describes: its `type` mapped back to an Errc (Errc::internal for
// an unknown type or a body that is not a problem), its `detail` as the message, prefixed with
// the status.
Error error_from_response(const Response& response);

} // namespace cordon::ipc

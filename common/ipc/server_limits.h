#pragma once

#include <chrono>
#include <cstddef>

namespace cordon::ipc {

// Bounds every listener enforces, whatever the route.
struct ServerLimits {
  // A request body over this many bytes is refused with a 413 problem before the handler runs,
  // and the connection is closed (the rest of the body is not read).
  std::size_t max_body_bytes = 1 << 20;
  // The request line and header fields together; over it, a 431 problem and the connection
  // closes.
  std::size_t max_header_bytes = 16 << 10;
  // A connection must deliver each complete request (and, on TLS, finish its handshake) within
  // this time of becoming ready for it, and must accept each response within it; otherwise it is
  // closed. Time spent in a handler does not count.
  std::chrono::milliseconds idle_timeout{30'000};
  // At this many open connections the listener stops accepting (new clients wait in the
  // kernel's backlog) until one closes.
  std::size_t max_connections = 512;
};

} // namespace cordon::ipc

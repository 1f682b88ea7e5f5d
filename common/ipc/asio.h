#pragma once

// The one header that includes Boost.Asio and Boost.Beast (with TLS) for the whole tree.
//
// Boost 1.74 pitfalls this header and its users avoid:
// - <utility> must precede Asio: some 1.74 headers use standard utilities without including
//   <utility>, which g++ 12's and clang 14's leaner transitive includes expose.
// - Coroutines: pass `asio::use_awaitable` explicitly; 1.74 has no default completion token for
//   the awaitable executor in every operation.
// - Never `co_spawn(..., detached)`: pass a completion handler that logs the exception_ptr, or
//   errors vanish.
// - Always set a Beast parser's body_limit and header_limit (the defaults are 1 MiB / 8 KiB for
//   requests and 8 MiB for responses, not what a caller means).
// - Unix socket paths must be shorter than sizeof(sockaddr_un::sun_path) == 108 bytes; longer
//   ones are truncated or rejected by the kernel, so callers check first.
#include <utility>

#include <boost/asio.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace cordon {
namespace asio = boost::asio;
namespace beast = boost::beast;
} // namespace cordon

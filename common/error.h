#pragma once

#include <string>
#include <string_view>
#include <utility>

#include <tl/expected.hpp>

namespace cordon {

// Stable error categories. Each maps to one HTTP status and one problem `type` (see
// common/ipc/problem.h), so callers across process boundaries can branch on them.
enum class Errc {
  invalid_argument,   // malformed or semantically wrong input (400)
  unknown_field,      // a request carried a field the contract does not name (400)
  too_large,          // input over a documented bound (413)
  not_found,          // no such resource (404)
  method_not_allowed, // known path, wrong method (405)
  permission_denied,  // the peer's role may not do this (403)
  unauthenticated,    // no or bad credentials on a network listener (401)
  conflict,           // the request contradicts stored state (409)
  unavailable,        // a dependency or the disk cannot serve now; retry later (503)
  io_error,           // the environment failed (disk, socket) (500 unless mapped otherwise)
  integrity,          // stored or received data failed a hash, chain or signature check
  crypto,             // a cryptographic primitive failed
  internal,           // a bug on our side; never for bad input (500)
};

// Human-readable name of a category, stable, used in logs and problem types.
std::string_view errc_name(Errc code);

// An error carries a category and a message for humans. Messages never contain secret values.
struct Error {
  Errc code;
  std::string message;
};

template <class T>
using Result = tl::expected<T, Error>;

// Returns an unexpected value convertible to any Result<T>.
inline tl::unexpected<Error> fail(Errc code, std::string message) {
  return tl::unexpected<Error>(Error{code, std::move(message)});
}

// Result<void> success value.
inline Result<void> ok() { return {}; }

} // namespace cordon

// Propagates an error from a Result-returning expression; yields the value otherwise.
// Usage: auto value = CORDON_TRY(parse(x));  (a GNU statement expression; g++ and clang)
#define CORDON_TRY(expr)                                                                        \
  __extension__({                                                                               \
    auto&& cordon_try_result_ = (expr);                                                         \
    if (!cordon_try_result_) return ::tl::unexpected<::cordon::Error>(cordon_try_result_.error()); \
    std::move(*cordon_try_result_);                                                             \
  })

// Propagates an error from a Result<void> expression.
#define CORDON_TRY_VOID(expr)                                                                   \
  do {                                                                                          \
    auto&& cordon_try_result_ = (expr);                                                         \
    if (!cordon_try_result_) return ::tl::unexpected<::cordon::Error>(cordon_try_result_.error()); \
  } while (0)

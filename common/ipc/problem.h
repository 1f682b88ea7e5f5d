#pragma once

#include <string>
#include <string_view>

#include "common/error.h"

// How error categories cross a process boundary: each Errc has one HTTP status and one RFC 9457
// problem type URI. Callers on the other side branch on the type (or the status), never on the
// human-readable detail.
namespace cordon::ipc {

// The problem `type` of every Cordon error is "https://cordon.dev/problems/<errc_name>", e.g.
// "https://cordon.dev/problems/permission_denied". The URI is an identifier: it is stable across
// versions and need not resolve.
inline constexpr std::string_view problem_type_prefix = "https://cordon.dev/problems/";

// 400 invalid_argument, unknown_field; 401 unauthenticated; 403 permission_denied; 404
// not_found; 405 method_not_allowed; 409 conflict; 413 too_large; 503 unavailable; 500 for the
// rest (io_error, integrity, crypto, internal).
int http_status(Errc code);

// problem_type_prefix + errc_name(code).
std::string problem_type(Errc code);

// A short, fixed, human title per category ("Permission denied").
std::string_view problem_title(Errc code);

// The inverse of problem_type(), for clients; Errc::internal for a type it does not know.
Errc errc_from_problem_type(std::string_view type);

} // namespace cordon::ipc

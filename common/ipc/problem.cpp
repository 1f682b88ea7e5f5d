#include "common/ipc/problem.h"

namespace cordon::ipc {

namespace {

constexpr Errc all_codes[] = {
    Errc::invalid_argument, Errc::unknown_field, Errc::too_large,         Errc::not_found,
    Errc::method_not_allowed, Errc::permission_denied, Errc::unauthenticated, Errc::conflict,
    Errc::unavailable,      Errc::io_error,      Errc::integrity,         Errc::crypto,
    Errc::internal,
};

} // namespace

int http_status(Errc code) {
  switch (code) {
  case Errc::invalid_argument:
  case Errc::unknown_field: return 400;
  case Errc::unauthenticated: return 401;
  case Errc::permission_denied: return 403;
  case Errc::not_found: return 404;
  case Errc::method_not_allowed: return 405;
  case Errc::conflict: return 409;
  case Errc::too_large: return 413;
  case Errc::unavailable: return 503;
  case Errc::io_error:
  case Errc::integrity:
  case Errc::crypto:
  case Errc::internal: return 500;
  }
  return 500;
}

std::string problem_type(Errc code) {
  std::string type(problem_type_prefix);
  type += errc_name(code);
  return type;
}

std::string_view problem_title(Errc code) {
  switch (code) {
  case Errc::invalid_argument: return "Invalid argument";
  case Errc::unknown_field: return "Unknown field";
  case Errc::too_large: return "Too large";
  case Errc::not_found: return "Not found";
  case Errc::method_not_allowed: return "Method not allowed";
  case Errc::permission_denied: return "Permission denied";
  case Errc::unauthenticated: return "Unauthenticated";
  case Errc::conflict: return "Conflict";
  case Errc::unavailable: return "Unavailable";
  case Errc::io_error: return "I/O error";
  case Errc::integrity: return "Integrity check failed";
  case Errc::crypto: return "Cryptographic failure";
  case Errc::internal: return "Internal error";
  }
  return "Internal error";
}

Errc errc_from_problem_type(std::string_view type) {
  if (type.substr(0, problem_type_prefix.size()) != problem_type_prefix) return Errc::internal;
  std::string_view name = type.substr(problem_type_prefix.size());
  for (Errc code : all_codes) {
    if (errc_name(code) == name) return code;
  }
  return Errc::internal;
}

} // namespace cordon::ipc

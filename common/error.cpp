#include "common/error.h"

namespace cordon {

std::string_view errc_name(Errc code) {
  switch (code) {
  case Errc::invalid_argument: return "invalid_argument";
  case Errc::unknown_field: return "unknown_field";
  case Errc::too_large: return "too_large";
  case Errc::not_found: return "not_found";
  case Errc::method_not_allowed: return "method_not_allowed";
  case Errc::permission_denied: return "permission_denied";
  case Errc::unauthenticated: return "unauthenticated";
  case Errc::conflict: return "conflict";
  case Errc::unavailable: return "unavailable";
  case Errc::io_error: return "io_error";
  case Errc::integrity: return "integrity";
  case Errc::crypto: return "crypto";
  case Errc::internal: return "internal";
  }
  return "internal";
}

} // namespace cordon

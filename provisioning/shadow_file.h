#pragma once

#include <string>
#include <string_view>

#include "common/error.h"

namespace cordon::provisioning {

// `shadow` (the text of /etc/shadow) with the second field of root's line, its password hash,
// replaced by `hash`; every other byte stays as it was. Errc::not_found when no line is root's,
// Errc::invalid_argument when root's line has fewer than two fields or `hash` holds ':' or a
// line break.
Result<std::string> with_root_password_hash(std::string_view shadow, std::string_view hash);

} // namespace cordon::provisioning

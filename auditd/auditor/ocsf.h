#pragma once

#include <string>
#include <string_view>

#include "common/error.h"
#include "common/json.h"

namespace cordon::auditor {

// Maps one ledger leaf (DESIGN.md §7 event) to an OCSF 1.1 "API Activity" event
// (category_uid 6, class_uid 6003). The mapping is lossless for the ledger's own fields:
// index, leaf hash and prev stay in metadata, `data` goes to `unmapped.data`.
// Fails with Errc::invalid_argument if the leaf is not a well-formed event.
Result<Json> to_ocsf(std::string_view leaf);

} // namespace cordon::auditor

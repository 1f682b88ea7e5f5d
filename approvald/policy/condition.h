#pragma once

#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include "approvald/policy/constitution.h"
#include "common/json.h"

namespace cordon::approvald {

// Looks a condition field up for one call: its value, or nullopt when the call has none.
using FieldLookup = std::function<std::optional<Json>(std::string_view field)>;

// Whether `condition` holds, with the semantics documented on Condition. `tainted` lists the
// arguments with untrusted provenance (for no_untrusted_data_in).
bool condition_holds(const Condition& condition, const FieldLookup& lookup,
                     const std::vector<std::string>& tainted);

} // namespace cordon::approvald

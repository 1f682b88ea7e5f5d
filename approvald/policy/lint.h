#pragma once

#include <string>
#include <vector>

#include "approvald/policy/constitution.h"

namespace cordon::approvald {

// What `cordon-policy lint` says about a constitution that parses: rules that cannot do what
// they seem to say. Each finding is a warning; none changes how the constitution evaluates.
struct LintFinding {
  std::string rule; // empty for findings about the whole constitution
  std::string message;
};

// Warns about: tool globs that match no known tool; conditions or no_untrusted_data_in naming
// an argument none of the rule's tools takes; allow rules the hard floor always overrides (an
// irreversible tool, a tool whose floor denies); an allow rule for every tool without
// conditions; approval bindings on fields the rule's tools never have.
std::vector<LintFinding> lint_constitution(const Constitution& constitution);

} // namespace cordon::approvald

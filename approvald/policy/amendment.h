#pragma once

#include <string>

#include "approvald/policy/proposal.h"
#include "common/error.h"
#include "common/json.h"

// "Approve, and amend the constitution so this class is allowed" (DESIGN.md §5.3): the rule an
// approver's answer adds. Only a call the constitution held for want of a rule can be lifted
// this way: an allow rule changes nothing against a deny, a require_approval rule or a floor.
namespace cordon::approvald {

// True when the cited rules are only constitution.no_match (and floor.dry_run, which is a mode,
// not a hold).
bool amendable(const Json& cited_rules);

// The [[rule]] (TOML) allowing the class of `proposal`: its tool, and
//   fs.*          the path's directory:   arguments.path glob "<dir>/*"
//   sql.query     the database, read-only SQL only
//   http.request  the method and the host
//   other tools   every scalar argument as it was
// and no untrusted data in the tool's sensitive arguments. Values are TOML-escaped; a path whose
// directory holds glob characters is refused (Errc::invalid_argument), since it would allow more
// than the class.
Result<std::string> amendment_rule(const Proposal& proposal, const std::string& rule_id, const std::string& description);

} // namespace cordon::approvald

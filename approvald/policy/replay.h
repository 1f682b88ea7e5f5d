#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "approvald/policy/constitution.h"
#include "common/error.h"

// `cordon-policy replay` (DESIGN.md §5.3): re-evaluates the decisions an audit ledger recorded
// (`decision.issued`, which holds the whole proposal) under another constitution, and says which
// would now come out differently.
namespace cordon::approvald {

struct ReplayChange {
  std::uint64_t index = 0; // the ledger entry
  std::string decision_id;
  std::string tool;
  std::string was_verdict; // the policy's verdict then: allow | require_approval | deny
  std::string now_verdict; // under the given constitution, or "error: …"
  std::vector<std::string> was_rules;
  std::vector<std::string> now_rules;
  std::string was_policy_version;
  bool withdrawn = false; // a decision.withdrawn names it: recorded, never issued
};

struct ReplayOutcome {
  std::size_t decisions = 0; // decision.issued entries read
  std::size_t unchanged = 0;
  std::size_t withdrawn = 0; // of `decisions`, those a decision.withdrawn names
  std::vector<ReplayChange> changes;
};

// Reads JSONL ledger entries (as `cordon-audit export --format jsonl` writes them; other kinds
// are skipped) and replays each decision.issued with its tenant, proposal and mode. A verdict or
// a list of cited rules that differs is a change. A decision that a decision.withdrawn names
// (approvald recorded it but could not sign or store it, so no packet left) is replayed like the
// others, since the policy's answer is the question, and marked `withdrawn`.
// Errc::invalid_argument names the line of an entry that is not JSON or a decision.issued
// without a proposal.
Result<ReplayOutcome> replay_decisions(std::istream& entries, const Constitution& constitution);

} // namespace cordon::approvald

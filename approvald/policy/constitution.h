#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "common/json.h"

// The constitution (DESIGN.md §5.3): the tenant's versioned policy, TOML files in one directory.
// docs/policy-guide.md is the user's reference for the format; this header is the code's.
namespace cordon::approvald {

// Ordered by strength: a verdict only ever rises (deny > require_approval > allow).
enum class Effect { allow = 0, require_approval = 1, deny = 2 };
std::string_view effect_name(Effect effect);

enum class Operator {
  equals, not_equals, glob, not_glob, prefix, numeric_lt, numeric_le, numeric_gt, numeric_ge,
  present,              // the field exists (value true) or does not (value false)
  no_untrusted_data_in, // none of the named arguments carries untrusted provenance
};
std::string_view operator_name(Operator op);

// One condition: `field` compared with `values` by `op`. A field holding a list satisfies a
// positive operator when any element matches any value, and a negated operator (not_equals,
// not_glob) when no element matches any value. An absent field satisfies no operator except
// `present = false`, so a condition never holds by accident of a missing argument. For
// no_untrusted_data_in, `field` is empty and `values` are argument names.
struct Condition {
  Operator op;
  std::string field;
  std::vector<Json> values;
};

// How many approvers a held action needs, from which group, and what the approval is bound to
// beyond the action digest (e.g. "target.head": a newer head makes it stale).
struct ApprovalRequirement {
  std::int64_t count = 1;
  std::string group = "approvers";
  std::vector<std::string> bind;
  friend bool operator==(const ApprovalRequirement&, const ApprovalRequirement&) = default;
};

struct Rule {
  std::string id;
  std::string description;
  Effect effect = Effect::require_approval;
  std::vector<std::string> tools; // globs over tool names
  std::vector<Condition> conditions;
  std::optional<ApprovalRequirement> approval; // require_approval rules; default one approver
  std::string file;                            // where it was written
};

// Tags for resources a call touches ("sql:billing/invoices", "http:api.stripe.com",
// "fs:src/main.c"): the floor holds anything tagged auth, payments or pii for a human.
struct ResourceTag {
  std::string pattern; // glob over resource ids
  std::vector<std::string> tags;
};

struct Constitution {
  // "sha256:" + hex(SHA-256(JCS({file name: file as JSON, …}))): formatting and comments do not
  // change it; any change to a rule, a tag, a setting or a file name does.
  std::string version;
  std::vector<Rule> rules; // in file order, files in name order
  std::vector<ResourceTag> resources;
  // Calls below this confidence need a human (floor.confidence). 4000..10000; the floor's own
  // injection clamp (3999) is always below it.
  std::int64_t confidence_threshold_bp = 7000;
  std::vector<std::string> files;
  Json canonical; // the digested document
};

struct ConstitutionFile {
  std::string name; // "10-reads.toml"
  std::string text;
};

// Parses and checks a whole constitution: unknown keys, duplicate rule ids, reserved ids
// ("floor.*", "constitution.*"), unknown fields or operators, values of the wrong type, floats
// and dates are refused with Errc::invalid_argument or Errc::unknown_field naming the file and
// the rule. An empty file list is refused: no constitution is not a policy.
Result<Constitution> parse_constitution(std::span<const ConstitutionFile> files);

// Reads every `*.toml` in `directory` (not recursing; other files ignored) in name order.
Result<Constitution> load_constitution(const std::filesystem::path& directory);

// The fields a condition may name: exact names and prefixes (ending in '.').
bool is_condition_field(std::string_view field);

} // namespace cordon::approvald

#pragma once

// Invariants of the four leaf readers of auditd/ledger/event.h, shared by the targets that feed
// them raw bytes and composed leaves.

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auditd/ledger/event.h"
#include "common/json.h"
#include "tests/fuzz/fuzz_check.h"

namespace cordon::fuzz {

inline void check_same_fields(const ledger::LeafFields& a, const ledger::LeafFields& b) {
  CORDON_FUZZ_CHECK(a.index == b.index);
  CORDON_FUZZ_CHECK(a.prev == b.prev);
  CORDON_FUZZ_CHECK(a.kind == b.kind);
  CORDON_FUZZ_CHECK(a.run_id == b.run_id);
  CORDON_FUZZ_CHECK(a.source == b.source);
  CORDON_FUZZ_CHECK(a.tenant == b.tenant);
  CORDON_FUZZ_CHECK(a.time == b.time);
}

// True if `raw` (string contents as stored, escaped) is the canonical escaping of `value`.
inline bool is_escaping_of(std::string_view raw, std::string_view value) {
  std::string literal;
  append_canonical_string(literal, value);
  return literal.size() == raw.size() + 2 && std::string_view(literal).substr(1, raw.size()) == raw;
}

inline void check_fields_of_event(const ledger::LeafFields& fields, const ledger::Event& event) {
  CORDON_FUZZ_CHECK(fields.index == event.index);
  CORDON_FUZZ_CHECK(fields.prev == event.prev);
  CORDON_FUZZ_CHECK(is_escaping_of(fields.kind, event.kind));
  CORDON_FUZZ_CHECK(fields.run_id.has_value() == event.run_id.has_value());
  if (fields.run_id) CORDON_FUZZ_CHECK(is_escaping_of(*fields.run_id, *event.run_id));
  CORDON_FUZZ_CHECK(is_escaping_of(fields.source, event.source));
  CORDON_FUZZ_CHECK(is_escaping_of(fields.tenant, event.tenant));
  CORDON_FUZZ_CHECK(is_escaping_of(fields.time, event.time));
}

// Runs every reader over `leaf` and checks that each one's acceptance implies the next looser
// one's, with the same fields: parse_leaf ⇒ check_leaf ⇒ check_leaf_layout ⇒
// extract_leaf_fields. Failures are always Errc::invalid_argument. Returns the parsed event.
inline std::optional<ledger::Event> check_readers_agree(std::string_view leaf) {
  const auto parsed = ledger::parse_leaf(leaf);
  const auto checked = ledger::check_leaf(leaf);
  const auto laid_out = ledger::check_leaf_layout(leaf);
  const auto extracted = ledger::extract_leaf_fields(leaf);
  for (const Error* error : {parsed ? nullptr : &parsed.error(), checked ? nullptr : &checked.error(),
                             laid_out ? nullptr : &laid_out.error(),
                             extracted ? nullptr : &extracted.error()}) {
    if (error != nullptr) CORDON_FUZZ_CHECK(error->code == Errc::invalid_argument);
  }
  if (laid_out) {
    CORDON_FUZZ_CHECK(extracted.has_value());
    check_same_fields(*laid_out, *extracted);
  }
  if (checked) {
    CORDON_FUZZ_CHECK(laid_out.has_value());
    check_same_fields(*checked, *laid_out);
  }
  if (!parsed) return std::nullopt;
  CORDON_FUZZ_CHECK(checked.has_value());
  check_fields_of_event(*checked, *parsed);
  CORDON_FUZZ_CHECK(leaf.size() <= ledger::max_leaf_bytes);
  return *parsed;
}

} // namespace cordon::fuzz

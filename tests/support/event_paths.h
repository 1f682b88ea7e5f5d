#pragma once

// The two ways auditd can read a POST /v1/events body: parse_json and prepare_events(const Json&)
// (the reference), and JsonDocument with prepare_events(JsonValue) (what the route does).
// compare_event_paths runs both on the same bytes and describes the first way they differ.
// Shared by tests/unit/auditd/event_document_test.cpp and tests/fuzz/json_document_fuzz.cpp.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "auditd/ledger/event.h"
#include "common/json.h"
#include "common/json_document.h"

namespace cordon::testing {

inline std::string describe_outcome(const Error& error) {
  return std::string(errc_name(error.code)) + " \"" + error.message + "\"";
}

template <class T>
std::string describe_outcome(const Result<T>& result) {
  return result ? std::string("success") : describe_outcome(result.error());
}

// nullopt when both fail with the same code and message, or both succeed; else what differs.
template <class A, class B>
std::optional<std::string> compare_outcomes(std::string_view stage, const Result<A>& reference,
                                            const Result<B>& candidate) {
  const bool same = reference.has_value() == candidate.has_value() &&
                    (reference || (reference.error().code == candidate.error().code &&
                                   reference.error().message == candidate.error().message));
  if (same) return std::nullopt;
  return std::string(stage) + ": parse_json path " + describe_outcome(reference) +
         ", JsonDocument path " + describe_outcome(candidate);
}

// Compares parsing (outcome and error), the canonical form of the whole document, and the
// prepared events (outcome and error, and every composed leaf byte for byte).
inline std::optional<std::string> compare_event_paths(std::string_view body, const JsonLimits& limits,
                                                      const ledger::EventContext& context,
                                                      std::size_t max_events) {
  const auto tree = parse_json(body, limits);
  const auto document = JsonDocument::parse(body, limits);
  if (auto difference = compare_outcomes("parse", tree, document)) return difference;
  if (!tree) return std::nullopt;

  const auto reference_canonical = canonical_json(*tree);
  std::string canonical;
  append_canonical(canonical, document->root());
  if (!reference_canonical || *reference_canonical != canonical) {
    return "canonical form: parse_json path " +
           (reference_canonical ? *reference_canonical : describe_outcome(reference_canonical.error())) +
           ", JsonDocument path " + canonical;
  }

  const auto reference = ledger::prepare_events(*tree, context, max_events);
  const auto candidate = ledger::prepare_events(document->root(), context, max_events);
  if (auto difference = compare_outcomes("prepare_events", reference, candidate)) return difference;
  if (!reference) return std::nullopt;
  if (reference->size() != candidate->size()) return std::string("prepare_events: a different number of events");
  const ledger::Hash prev = ledger::leaf_hash("previous");
  for (std::size_t i = 0; i < reference->size(); ++i) {
    const std::string expected = (*reference)[i].compose(i, prev, "2026-11-21T10:00:00.123456Z");
    const std::string actual = (*candidate)[i].compose(i, prev, "2026-11-21T10:00:00.123456Z");
    if (expected != actual) {
      return "leaf " + std::to_string(i) + ": parse_json path " + expected + ", JsonDocument path " + actual;
    }
    if ((*reference)[i].max_leaf_size() != (*candidate)[i].max_leaf_size()) {
      return "leaf " + std::to_string(i) + ": max_leaf_size differs";
    }
  }
  return std::nullopt;
}

} // namespace cordon::testing

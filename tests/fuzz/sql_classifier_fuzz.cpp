// The read-only SQL classifier on untrusted SQL text (libpg_query underneath).
//
// Invariants:
// - classify fails only with invalid_argument, with a message; it never crashes, however deep
//   or wide the text;
// - a classification has at least one statement, reasons exactly when it is not read-only,
//   reasons without repeats, and relations that are non-empty, sorted and unique;
// - classifying the same text twice gives the same answer;
// - a text followed by a DELETE is never read-only: when both classify, the DELETE is one more
//   statement, its target a relation, and "DELETE writes" a reason.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/sql/sql_classifier.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using cordon::Errc;
using cordon::sql::Classification;

bool same(const Classification& a, const Classification& b) {
  return a.read_only == b.read_only && a.statements == b.statements && a.relations == b.relations &&
         a.reasons == b.reasons;
}

bool contains(const std::vector<std::string>& list, std::string_view item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

void check_shape(const Classification& c) {
  CORDON_FUZZ_CHECK(!c.statements.empty());
  CORDON_FUZZ_CHECK(c.read_only == c.reasons.empty());
  CORDON_FUZZ_CHECK(std::set<std::string>(c.reasons.begin(), c.reasons.end()).size() == c.reasons.size());
  CORDON_FUZZ_CHECK(std::adjacent_find(c.relations.begin(), c.relations.end(), std::greater_equal<>()) ==
                    c.relations.end());
  for (const auto& relation : c.relations) CORDON_FUZZ_CHECK(!relation.empty());
  for (const auto& reason : c.reasons) CORDON_FUZZ_CHECK(!reason.empty());
}

void check_followed_by_delete(std::string_view text, const cordon::Result<Classification>& alone) {
  const std::string followed = std::string(text) + "\n;DELETE FROM cordon_fuzz_target";
  const auto c = cordon::sql::classify(followed);
  if (!c) return;
  CORDON_FUZZ_CHECK(!c->read_only);
  CORDON_FUZZ_CHECK(contains(c->reasons, "DELETE writes"));
  CORDON_FUZZ_CHECK(contains(c->relations, "cordon_fuzz_target"));
  if (!alone) return;
  auto expected = alone->statements;
  expected.emplace_back("DeleteStmt");
  CORDON_FUZZ_CHECK(c->statements == expected);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto c = cordon::sql::classify(text);
  if (!c) {
    CORDON_FUZZ_CHECK(c.error().code == Errc::invalid_argument);
    CORDON_FUZZ_CHECK(!c.error().message.empty());
  } else {
    check_shape(*c);
    const auto again = cordon::sql::classify(text);
    CORDON_FUZZ_CHECK(again && same(*c, *again));
  }
  check_followed_by_delete(text, c);
  return 0;
}

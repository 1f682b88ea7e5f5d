// The auditor API's query strings: a request target split and percent-decoded as the server
// does (ipc::parse_target), then the GET /v1/events, /v1/proof/inclusion and
// /v1/proof/consistency parsers against several tree sizes.
//
// Invariants:
// - parse_target fails only with invalid_argument, and yields a path starting with '/' that
//   holds no NUL and no "." or ".." segment;
// - the query parsers fail with unknown_field exactly when a parameter is not theirs, and with
//   invalid_argument otherwise;
// - what they accept is in range: from ≤ to ≤ tree size and 1 ≤ limit ≤ max_events_page with
//   non-empty filters; index < size ≤ tree size; 0 < old ≤ new ≤ tree size;
// - every number they accept was written in its one canonical decimal form, and every filter
//   is the decoded parameter unchanged.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "auditd/api.h"
#include "common/ipc/http.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using namespace cordon;

constexpr std::uint64_t tree_sizes[] = {0, 1, 7, 10000, std::numeric_limits<std::uint64_t>::max()};

bool only_names(const ipc::QueryMap& query, std::initializer_list<std::string_view> names) {
  for (const auto& [name, value] : query) {
    bool known = false;
    for (const auto candidate : names) known = known || candidate == name;
    if (!known) return false;
  }
  return true;
}

void check_error(const Error& error, const ipc::QueryMap& query,
                 std::initializer_list<std::string_view> names) {
  CORDON_FUZZ_CHECK(error.code == (only_names(query, names) ? Errc::invalid_argument : Errc::unknown_field));
}

// A parameter that is absent, or was written exactly as `value` in decimal.
bool written_as(const ipc::QueryMap& query, std::string_view name, std::uint64_t value) {
  const auto found = query.find(name);
  return found == query.end() || found->second == std::to_string(value);
}

bool filter_is(const ipc::QueryMap& query, std::string_view name, const std::optional<std::string>& value) {
  const auto found = query.find(name);
  if (found == query.end()) return !value.has_value();
  return value.has_value() && !value->empty() && *value == found->second;
}

void check_events_query(const ipc::QueryMap& query, std::uint64_t tree_size) {
  const std::initializer_list<std::string_view> names = {"from", "to", "kind", "run_id", "source", "limit"};
  const auto parsed = auditd::parse_events_query(query, tree_size);
  if (!parsed) return check_error(parsed.error(), query, names);
  CORDON_FUZZ_CHECK(only_names(query, names));
  CORDON_FUZZ_CHECK(parsed->from <= parsed->to && parsed->to <= tree_size);
  CORDON_FUZZ_CHECK(parsed->limit >= 1 && parsed->limit <= auditd::max_events_page);
  CORDON_FUZZ_CHECK(written_as(query, "from", parsed->from) && written_as(query, "to", parsed->to) &&
                    written_as(query, "limit", parsed->limit));
  if (!query.contains("from")) CORDON_FUZZ_CHECK(parsed->from == 0);
  if (!query.contains("to")) CORDON_FUZZ_CHECK(parsed->to == tree_size);
  CORDON_FUZZ_CHECK(filter_is(query, "kind", parsed->filter.kind));
  CORDON_FUZZ_CHECK(filter_is(query, "run_id", parsed->filter.run_id));
  CORDON_FUZZ_CHECK(filter_is(query, "source", parsed->filter.source));
}

void check_inclusion_query(const ipc::QueryMap& query, std::uint64_t tree_size) {
  const auto parsed = auditd::parse_inclusion_query(query, tree_size);
  if (!parsed) return check_error(parsed.error(), query, {"index", "size"});
  CORDON_FUZZ_CHECK(only_names(query, {"index", "size"}));
  CORDON_FUZZ_CHECK(parsed->index < parsed->size && parsed->size <= tree_size);
  CORDON_FUZZ_CHECK(query.contains("index") && query.contains("size"));
  CORDON_FUZZ_CHECK(written_as(query, "index", parsed->index) && written_as(query, "size", parsed->size));
}

void check_consistency_query(const ipc::QueryMap& query, std::uint64_t tree_size) {
  const auto parsed = auditd::parse_consistency_query(query, tree_size);
  if (!parsed) return check_error(parsed.error(), query, {"old", "new"});
  CORDON_FUZZ_CHECK(only_names(query, {"old", "new"}));
  CORDON_FUZZ_CHECK(0 < parsed->old_size && parsed->old_size <= parsed->new_size &&
                    parsed->new_size <= tree_size);
  CORDON_FUZZ_CHECK(query.contains("old") && query.contains("new"));
  CORDON_FUZZ_CHECK(written_as(query, "old", parsed->old_size) && written_as(query, "new", parsed->new_size));
}

void check_path(std::string_view path) {
  CORDON_FUZZ_CHECK(!path.empty() && path.front() == '/');
  CORDON_FUZZ_CHECK(path.find('\0') == std::string_view::npos);
  std::size_t start = 1;
  for (;;) {
    const std::size_t end = std::min(path.find('/', start), path.size());
    const std::string_view segment = path.substr(start, end - start);
    CORDON_FUZZ_CHECK(segment != "." && segment != "..");
    if (end == path.size()) break;
    start = end + 1;
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view target(reinterpret_cast<const char*>(data), size);
  std::string path;
  ipc::QueryMap query;
  const auto split = ipc::parse_target(target, path, query);
  if (!split) {
    CORDON_FUZZ_CHECK(split.error().code == Errc::invalid_argument);
    return 0;
  }
  check_path(path);
  for (const std::uint64_t tree_size : tree_sizes) {
    check_events_query(query, tree_size);
    check_inclusion_query(query, tree_size);
    check_consistency_query(query, tree_size);
  }
  return 0;
}

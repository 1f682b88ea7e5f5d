#include "auditd/api.h"

#include <charconv>

#include <fmt/format.h>

namespace cordon::auditd {
namespace {

Result<void> require_known_params(const ipc::QueryMap& query,
                                  std::initializer_list<std::string_view> allowed) {
  for (const auto& [name, value] : query) {
    bool known = false;
    for (auto candidate : allowed) known = known || candidate == name;
    if (!known) return fail(Errc::unknown_field, fmt::format("unknown query parameter \"{}\"", name));
  }
  return ok();
}

Result<std::optional<std::uint64_t>> number_param(const ipc::QueryMap& query, std::string_view name) {
  auto found = query.find(name);
  if (found == query.end()) return std::optional<std::uint64_t>{};
  const std::string& text = found->second;
  std::uint64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size() ||
      (text.size() > 1 && text[0] == '0'))
    return fail(Errc::invalid_argument, fmt::format("query parameter {} must be a decimal number", name));
  return std::optional<std::uint64_t>{value};
}

Result<std::uint64_t> required_number(const ipc::QueryMap& query, std::string_view name) {
  auto value = CORDON_TRY(number_param(query, name));
  if (!value) return fail(Errc::invalid_argument, fmt::format("query parameter {} is required", name));
  return *value;
}

// A filter value. No event has an empty kind, run_id or source, so an empty value can only be a
// mistake (an unset variable in a script) that would otherwise answer "no such events".
Result<std::optional<std::string>> filter_param(const ipc::QueryMap& query, std::string_view name) {
  auto found = query.find(name);
  if (found == query.end()) return std::optional<std::string>{};
  if (found->second.empty())
    return fail(Errc::invalid_argument, fmt::format("query parameter {} must not be empty", name));
  return std::optional<std::string>{found->second};
}

} // namespace

Result<EventsQuery> parse_events_query(const ipc::QueryMap& query, std::uint64_t tree_size) {
  CORDON_TRY_VOID(require_known_params(query, {"from", "to", "kind", "run_id", "source", "limit"}));
  EventsQuery out;
  out.from = CORDON_TRY(number_param(query, "from")).value_or(0);
  out.to = CORDON_TRY(number_param(query, "to")).value_or(tree_size);
  const auto limit = CORDON_TRY(number_param(query, "limit")).value_or(max_events_page);
  if (limit == 0 || limit > max_events_page)
    return fail(Errc::invalid_argument, fmt::format("limit must be 1..{}", max_events_page));
  out.limit = static_cast<std::size_t>(limit);
  if (out.from > out.to)
    return fail(Errc::invalid_argument, fmt::format("from {} is after to {}", out.from, out.to));
  if (out.to > tree_size)
    return fail(Errc::invalid_argument,
                fmt::format("to {} is beyond the tree size {}", out.to, tree_size));
  out.filter.kind = CORDON_TRY(filter_param(query, "kind"));
  out.filter.run_id = CORDON_TRY(filter_param(query, "run_id"));
  out.filter.source = CORDON_TRY(filter_param(query, "source"));
  return out;
}

Result<InclusionQuery> parse_inclusion_query(const ipc::QueryMap& query, std::uint64_t tree_size) {
  CORDON_TRY_VOID(require_known_params(query, {"index", "size"}));
  InclusionQuery out;
  out.index = CORDON_TRY(required_number(query, "index"));
  out.size = CORDON_TRY(required_number(query, "size"));
  if (out.size > tree_size)
    return fail(Errc::invalid_argument,
                fmt::format("size {} is beyond the tree size {}", out.size, tree_size));
  if (out.index >= out.size)
    return fail(Errc::invalid_argument,
                fmt::format("index {} is not in a tree of size {}", out.index, out.size));
  return out;
}

Result<ConsistencyQuery> parse_consistency_query(const ipc::QueryMap& query, std::uint64_t tree_size) {
  CORDON_TRY_VOID(require_known_params(query, {"old", "new"}));
  ConsistencyQuery out;
  out.old_size = CORDON_TRY(required_number(query, "old"));
  out.new_size = CORDON_TRY(required_number(query, "new"));
  if (out.new_size > tree_size)
    return fail(Errc::invalid_argument,
                fmt::format("new {} is beyond the tree size {}", out.new_size, tree_size));
  if (out.old_size == 0 || out.old_size > out.new_size)
    return fail(Errc::invalid_argument,
                fmt::format("a consistency proof needs 0 < old ≤ new (old {}, new {})",
                            out.old_size, out.new_size));
  return out;
}

Json ack_json(const ledger::Ack& ack) { return Json{{"index", ack.index}, {"leaf_hash", ack.leaf_hash}}; }

std::string acks_body(std::span<const ledger::Ack> acks, bool batch) {
  // {"index":N,"leaf_hash":"<64 hex>"} is at most 20 + 13 + 64 + 15 bytes.
  std::string out;
  out.reserve(acks.size() * 112 + 2);
  if (batch) out.push_back('[');
  char digits[24];
  for (std::size_t i = 0; i < acks.size(); ++i) {
    if (i != 0) out.push_back(',');
    out.append(R"({"index":)");
    out.append(digits, std::to_chars(digits, digits + sizeof digits, acks[i].index).ptr);
    out.append(R"(,"leaf_hash":")");
    out.append(acks[i].leaf_hash); // lowercase hex: nothing to escape
    out.append(R"("})");
  }
  if (batch) out.push_back(']');
  return out;
}

Json hashes_json(std::span<const ledger::Hash> hashes) {
  Json out = Json::array();
  for (const auto& hash : hashes) out.push_back(ledger::hash_to_base64(hash));
  return out;
}

} // namespace cordon::auditd

// POST /v1/events: the body parsed as the route parses it, then prepare_events, then the leaves
// the commit thread composes from the prepared events.
//
// Invariants:
// - refusals are the client's fault (invalid_argument, unknown_field, too_large), never
//   internal: the context is valid;
// - a batch yields exactly one prepared event per element;
// - every composed leaf, at any index, is at most max_leaf_size() ≤ max_leaf_bytes bytes;
// - parse_leaf accepts it and gives back the request's kind, actor, run_id and data, the
//   context's tenant and source, and the index, prev and time it was composed with; each
//   sensitive string is replaced by "hmac-sha256:" and the hex HMAC of its value under the salt;
// - the faster leaf readers agree with parse_leaf (see leaf_checks.h).

#include <cstddef>
#include <cstdint>
#include <exception>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "auditd/api.h"
#include "auditd/ledger/event.h"
#include "common/crypto.h"
#include "common/encoding.h"
#include "common/json.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/leaf_checks.h"

namespace {

using namespace cordon;

constexpr std::string_view event_time = "2026-11-21T10:00:00.123456Z";
// Names that need escaping, so that the context's strings are checked too.
constexpr std::string_view tenant = "acme \"eu\" \xc3\xbc";
constexpr std::string_view source = "agentd";

const std::vector<std::uint8_t>& salt() {
  static const std::vector<std::uint8_t> bytes(32, 0x5a);
  return bytes;
}

// The data the ledger must store for `input`: its data (or {}), with each sensitive string
// replaced by its salted HMAC, located by nlohmann's own RFC 6901 implementation.
Json expected_data(const Json& input) {
  Json data = input.contains("data") ? input["data"] : Json::object();
  if (!input.contains("sensitive")) return data;
  bool resolved = true;
  try {
    for (const Json& pointer : input["sensitive"]) {
      const Json::json_pointer location(pointer.get<std::string>());
      const auto& value = data.at(location).get_ref<const std::string&>();
      const auto mac = crypto::hmac_sha256(salt(), as_bytes(value));
      data[location] = "hmac-sha256:" + to_hex(mac);
    }
  } catch (const std::exception&) {
    resolved = false; // a pointer the ledger accepted that RFC 6901 (per nlohmann) does not
  }
  CORDON_FUZZ_CHECK(resolved);
  return data;
}

void check_event(const Json& input, const ledger::PreparedEvent& prepared, std::uint64_t index) {
  CORDON_FUZZ_CHECK(prepared.max_leaf_size() <= ledger::max_leaf_bytes);
  const ledger::Hash prev = ledger::leaf_hash(std::to_string(index));
  const std::string largest =
      prepared.compose(std::numeric_limits<std::uint64_t>::max(), prev, event_time);
  CORDON_FUZZ_CHECK(largest.size() <= prepared.max_leaf_size());

  const std::string leaf = prepared.compose(index, prev, event_time);
  const auto event = fuzz::check_readers_agree(leaf);
  CORDON_FUZZ_CHECK(event.has_value());
  CORDON_FUZZ_CHECK(event->index == index);
  CORDON_FUZZ_CHECK(event->prev == prev);
  CORDON_FUZZ_CHECK(event->time == event_time);
  CORDON_FUZZ_CHECK(event->tenant == tenant);
  CORDON_FUZZ_CHECK(event->source == source);
  CORDON_FUZZ_CHECK(event->kind == input["kind"].get<std::string>());
  CORDON_FUZZ_CHECK(ledger::actor_type_name(event->actor.type) == input["actor"]["type"].get<std::string>());
  CORDON_FUZZ_CHECK(event->actor.id == input["actor"]["id"].get<std::string>());
  const bool has_run_id = input.contains("run_id") && !input["run_id"].is_null();
  CORDON_FUZZ_CHECK(event->run_id.has_value() == has_run_id);
  if (has_run_id) CORDON_FUZZ_CHECK(*event->run_id == input["run_id"].get<std::string>());
  const auto stored = canonical_json(event->data);
  const auto expected = canonical_json(expected_data(input));
  CORDON_FUZZ_CHECK(stored && expected && *stored == *expected);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // As the route parses a body.
  const auto body = parse_json(text, JsonLimits{.max_bytes = auditd::max_request_body_bytes, .max_depth = 32});
  if (!body) return 0;
  const ledger::EventContext context{tenant, source, salt()};
  const auto events = ledger::prepare_events(*body, context, auditd::max_events_per_request);
  if (!events) {
    const Errc code = events.error().code;
    CORDON_FUZZ_CHECK(code == Errc::invalid_argument || code == Errc::unknown_field || code == Errc::too_large);
    return 0;
  }
  if (body->is_object()) {
    CORDON_FUZZ_CHECK(events->size() == 1);
    check_event(*body, events->front(), size);
    return 0;
  }
  CORDON_FUZZ_CHECK(body->is_array() && events->size() == body->size());
  for (std::size_t i = 0; i < events->size(); ++i) check_event((*body)[i], (*events)[i], i);
  return 0;
}

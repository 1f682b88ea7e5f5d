// JsonDocument against parse_json, and POST /v1/events on a JsonDocument against the Json path,
// on the same untrusted bytes (see tests/support/event_paths.h).
//
// Invariants, under the route's limits and under tight ones (nesting 3, no byte to spare):
// - both parsers accept the same texts and refuse the others with the same code and message;
// - what they accept has the same canonical form;
// - prepare_events gives the same events, composed byte for byte, or the same refusal.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string_view>
#include <vector>

#include "auditd/api.h"
#include "auditd/ledger/event.h"
#include "common/json.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/support/event_paths.h"

namespace {

using namespace cordon;

const std::vector<std::uint8_t>& salt() {
  static const std::vector<std::uint8_t> bytes(32, 0x5a);
  return bytes;
}

void check_paths_agree(std::string_view body, const JsonLimits& limits, std::size_t max_events) {
  // Names that need escaping, so that the context's strings are written on both paths too.
  const ledger::EventContext context{"acme \"eu\" \xc3\xbc", "agentd", salt()};
  const auto difference = testing::compare_event_paths(body, limits, context, max_events);
  if (difference) std::fprintf(stderr, "%s\n", difference->c_str());
  CORDON_FUZZ_CHECK(!difference);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  check_paths_agree(body, JsonLimits{.max_bytes = auditd::max_request_body_bytes, .max_depth = 32},
                    auditd::max_events_per_request);
  check_paths_agree(body, JsonLimits{.max_bytes = size, .max_depth = 3}, 2);
  return 0;
}

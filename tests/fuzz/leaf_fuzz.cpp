// The readers of stored leaves on raw bytes, as segment files, the offline verifier and the
// sinks meet them.
//
// Invariants:
// - each reader's acceptance implies the next looser one's, with the same fields
//   (parse_leaf ⇒ check_leaf ⇒ check_leaf_layout ⇒ extract_leaf_fields), and the raw fields are
//   the canonical escapings of parse_leaf's values; failures are invalid_argument;
// - a leaf parse_leaf accepts is byte for byte what prepare_event and compose write for the
//   event it holds (or prepare_event refuses it as too_large, when only the room it reserves
//   for a 20-digit index is over max_leaf_bytes).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "auditd/ledger/event.h"
#include "common/json.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/leaf_checks.h"

namespace {

using namespace cordon;

void check_rebuilt(std::string_view leaf, const ledger::Event& event) {
  Json input = {{"kind", event.kind},
                {"actor", {{"type", ledger::actor_type_name(event.actor.type)}, {"id", event.actor.id}}},
                {"run_id", event.run_id ? Json(*event.run_id) : Json()},
                {"data", event.data}};
  static const std::vector<std::uint8_t> salt(32, 0x11);
  const ledger::EventContext context{event.tenant, event.source, salt};
  const auto prepared = ledger::prepare_event(input, context);
  if (!prepared) {
    CORDON_FUZZ_CHECK(prepared.error().code == Errc::too_large);
    const std::size_t index_digits = std::to_string(event.index).size();
    CORDON_FUZZ_CHECK(leaf.size() - index_digits + 20 > ledger::max_leaf_bytes);
    return;
  }
  CORDON_FUZZ_CHECK(prepared->compose(event.index, event.prev, event.time) == leaf);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view leaf(reinterpret_cast<const char*>(data), size);
  const auto event = fuzz::check_readers_agree(leaf);
  if (event) check_rebuilt(leaf, *event);
  return 0;
}

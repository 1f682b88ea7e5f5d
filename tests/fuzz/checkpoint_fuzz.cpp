// C2SP tlog-checkpoints: note texts as parse_checkpoint reads them (cordon-audit pull), and
// signed checkpoints as open_checkpoint reads them (cordon-audit verify, the offline verifier).
//
// Invariants:
// - parse_checkpoint fails only with invalid_argument, and a text it accepts is exactly what
//   format_checkpoint writes for the checkpoint it returns;
// - open_checkpoint fails only with invalid_argument or integrity, and what it accepts is the
//   parse of the text its signature covers;
// - a checkpoint signed by sign_checkpoint opens to itself, and is refused (integrity) when
//   another origin is expected.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "auditd/ledger/checkpoint.h"
#include "auditd/ledger/signed_note.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_signer.h"

namespace {

using namespace cordon;

void check_text(std::string_view text) {
  const auto checkpoint = ledger::parse_checkpoint(text);
  if (!checkpoint) {
    CORDON_FUZZ_CHECK(checkpoint.error().code == Errc::invalid_argument);
    return;
  }
  CORDON_FUZZ_CHECK(!checkpoint->origin.empty());
  const auto formatted = ledger::format_checkpoint(*checkpoint);
  CORDON_FUZZ_CHECK(formatted && *formatted == text);

  const auto note = ledger::sign_checkpoint(*checkpoint, fuzz::FuzzSigner::instance());
  if (!note) {
    // Only a text a signed note cannot carry (not UTF-8) may fail to sign.
    CORDON_FUZZ_CHECK(note.error().code == Errc::invalid_argument);
    return;
  }
  const auto& key = fuzz::FuzzSigner::pinned_key();
  const auto opened = ledger::open_checkpoint(*note, key, checkpoint->origin);
  CORDON_FUZZ_CHECK(opened && *opened == *checkpoint);
  const auto elsewhere = ledger::open_checkpoint(*note, key, checkpoint->origin + "x");
  CORDON_FUZZ_CHECK(!elsewhere && elsewhere.error().code == Errc::integrity);
}

void check_note(std::string_view note) {
  const auto& key = fuzz::FuzzSigner::pinned_key();
  const auto checkpoint = ledger::open_checkpoint(note, key);
  if (!checkpoint) {
    CORDON_FUZZ_CHECK(checkpoint.error().code == Errc::invalid_argument ||
                      checkpoint.error().code == Errc::integrity);
    return;
  }
  const auto text = ledger::open_signed_note(note, key);
  CORDON_FUZZ_CHECK(text.has_value());
  const auto parsed = ledger::parse_checkpoint(*text);
  CORDON_FUZZ_CHECK(parsed && *parsed == *checkpoint);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  check_text(bytes);
  check_note(bytes);
  return 0;
}

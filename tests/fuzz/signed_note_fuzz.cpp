// C2SP signed notes and verifier keys as an auditor's tools receive them.
//
// Invariants:
// - open_signed_note fails only with invalid_argument or integrity; the text it returns is the
//   note up to its last blank line, ends in '\n', and its signature by the pinned key verifies;
// - the input as a note text: assemble_signed_note accepts it exactly when it ends in '\n' and
//   is UTF-8 without control characters but '\n', and then the note opens to that text, still
//   opens with another key's cosignature after it, and fails with integrity once the pinned
//   key's signature is altered;
// - a verifier key NoteVerifierKey::parse accepts (the input's first line) writes back as the
//   same string, and its key ID is the one its name and key give.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "auditd/ledger/signed_note.h"
#include "common/crypto.h"
#include "common/encoding.h"
#include "common/utf8.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_signer.h"

namespace {

using namespace cordon;

bool is_note_text(std::string_view text) {
  if (text.empty() || text.back() != '\n' || utf8_first_invalid(text)) return false;
  for (const char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 && c != '\n') return false;
  }
  return true;
}

void check_open(std::string_view note) {
  const auto text = ledger::open_signed_note(note, fuzz::FuzzSigner::pinned_key());
  if (!text) {
    CORDON_FUZZ_CHECK(text.error().code == Errc::invalid_argument || text.error().code == Errc::integrity);
    return;
  }
  CORDON_FUZZ_CHECK(is_note_text(*text));
  CORDON_FUZZ_CHECK(note.starts_with(*text) && note.size() > text->size() && note[text->size()] == '\n');
  CORDON_FUZZ_CHECK(note.substr(text->size() + 1).find("\n\n") == std::string_view::npos);
}

void check_sign_and_open(std::string_view text) {
  const auto& signer = fuzz::FuzzSigner::instance();
  const auto& key = fuzz::FuzzSigner::pinned_key();
  const auto signature = signer.sign(as_bytes(text));
  CORDON_FUZZ_CHECK(signature.has_value());
  const auto note = ledger::assemble_signed_note(text, signer.name(), key.key_id, *signature);
  CORDON_FUZZ_CHECK(note.has_value() == is_note_text(text));
  if (!note) return;
  const auto opened = ledger::open_signed_note(*note, key);
  CORDON_FUZZ_CHECK(opened && *opened == text);

  ledger::Ed25519Signature other{};
  other[0] = 1;
  const std::string cosigned = *note + ledger::note_signature_line("witness.example", 0x01020304, other);
  const auto opened_cosigned = ledger::open_signed_note(cosigned, key);
  CORDON_FUZZ_CHECK(opened_cosigned && *opened_cosigned == text);

  ledger::Ed25519Signature altered = *signature;
  altered[text.size() % altered.size()] ^= 0x01;
  const std::string forged =
      std::string(text) + "\n" + ledger::note_signature_line(signer.name(), key.key_id, altered);
  const auto opened_forged = ledger::open_signed_note(forged, key);
  CORDON_FUZZ_CHECK(!opened_forged && opened_forged.error().code == Errc::integrity);
}

void check_verifier_key(std::string_view text) {
  const auto key = ledger::NoteVerifierKey::parse(text.substr(0, text.find('\n')));
  if (!key) {
    CORDON_FUZZ_CHECK(key.error().code == Errc::invalid_argument);
    return;
  }
  CORDON_FUZZ_CHECK(key->to_string() == text.substr(0, text.find('\n')));
  CORDON_FUZZ_CHECK(key->key_id == ledger::note_key_id(key->name, key->public_key));
  CORDON_FUZZ_CHECK(ledger::is_valid_key_name(key->name));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  check_open(bytes);
  check_sign_and_open(bytes);
  check_verifier_key(bytes);
  return 0;
}

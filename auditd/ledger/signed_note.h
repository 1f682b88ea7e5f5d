#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/error.h"

// C2SP signed-note with Ed25519 signatures (https://c2sp.org/signed-note): a text ending in
// '\n', a blank line, and signature lines "— <key name> <base64(key ID || signature)>\n".
namespace cordon::ledger {

using Ed25519PublicKey = std::array<std::uint8_t, 32>;
using Ed25519Signature = std::array<std::uint8_t, 64>;

// True if `name` can name a note key: non-empty printable ASCII without spaces or '+'.
bool is_valid_key_name(std::string_view name);

// The key ID of an Ed25519 note key: the first four bytes, big-endian, of
// SHA-256(name || 0x0A || 0x01 || public key).
std::uint32_t note_key_id(std::string_view name, const Ed25519PublicKey& public_key);

// A verifier key as C2SP writes it: "<name>+<key ID as 8 hex digits>+<base64(0x01 || key)>".
struct NoteVerifierKey {
  std::string name;
  std::uint32_t key_id = 0;
  Ed25519PublicKey public_key{};

  // Errc::invalid_argument for a bad name.
  static Result<NoteVerifierKey> from_public_key(std::string name, const Ed25519PublicKey& key);
  // Errc::invalid_argument unless the string is well formed, of type 0x01 (Ed25519), and its key
  // ID matches its name and key.
  static Result<NoteVerifierKey> parse(std::string_view text);
  std::string to_string() const;
};

// The signature line for `text` signed by `key` ("— name base64\n").
std::string note_signature_line(std::string_view name, std::uint32_t key_id,
                                const Ed25519Signature& signature);

// The signed note: text, blank line, signature line. `text` must end in '\n' and be a valid
// note text (UTF-8, no control characters but '\n'); Errc::invalid_argument otherwise.
Result<std::string> assemble_signed_note(std::string_view text, std::string_view name,
                                         std::uint32_t key_id, const Ed25519Signature& signature);

// Checks a signed note against one trusted key and returns its text (with the final '\n').
// Signature lines of other keys (a different name or key ID, e.g. witness cosignatures) are
// ignored, as the spec requires; a line of the trusted key whose signature does not verify
// rejects the note, and so does a note without any. Errc::invalid_argument for a malformed note
// (not UTF-8, a control character, no blank line before the signatures, a malformed signature
// line, more than 100 signatures); Errc::integrity for a missing or bad signature.
Result<std::string> open_signed_note(std::string_view note, const NoteVerifierKey& key);

} // namespace cordon::ledger

#include "auditd/ledger/signed_note.h"

#include <vector>

#include "common/crypto.h"
#include "common/encoding.h"
#include "common/utf8.h"

namespace cordon::ledger {
namespace {

constexpr std::uint8_t ed25519_type = 0x01;
constexpr std::string_view em_dash_space = "\xe2\x80\x94 "; // U+2014, then a space
constexpr std::size_t max_signatures = 100;

tl::unexpected<Error> malformed(std::string message) {
  return fail(Errc::invalid_argument, "malformed signed note: " + std::move(message));
}

Result<void> check_note_characters(std::string_view text) {
  if (utf8_first_invalid(text)) return malformed("not UTF-8");
  for (const char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 && c != '\n') return malformed("control character");
  }
  return ok();
}

std::string hex8(std::uint32_t value) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(8, '0');
  for (int i = 7; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = digits[value & 0xf];
    value >>= 4;
  }
  return out;
}

} // namespace

bool is_valid_key_name(std::string_view name) {
  if (name.empty()) return false;
  for (const char c : name) {
    if (c <= 0x20 || c >= 0x7f || c == '+') return false;
  }
  return true;
}

std::uint32_t note_key_id(std::string_view name, const Ed25519PublicKey& public_key) {
  std::string message(name);
  message.push_back('\n');
  message.push_back(static_cast<char>(ed25519_type));
  message.append(reinterpret_cast<const char*>(public_key.data()), public_key.size());
  const auto digest = crypto::sha256(message);
  return std::uint32_t{digest[0]} << 24 | std::uint32_t{digest[1]} << 16 |
         std::uint32_t{digest[2]} << 8 | std::uint32_t{digest[3]};
}

Result<NoteVerifierKey> NoteVerifierKey::from_public_key(std::string name,
                                                         const Ed25519PublicKey& key) {
  if (!is_valid_key_name(name)) {
    return fail(Errc::invalid_argument, "a key name must be printable ASCII without spaces or '+'");
  }
  const std::uint32_t id = note_key_id(name, key);
  return NoteVerifierKey{std::move(name), id, key};
}

Result<NoteVerifierKey> NoteVerifierKey::parse(std::string_view text) {
  const auto bad = [](std::string why) {
    return fail(Errc::invalid_argument, "malformed verifier key: " + std::move(why));
  };
  const std::size_t first_plus = text.find('+');
  if (first_plus == std::string_view::npos || text.size() < first_plus + 10 ||
      text[first_plus + 9] != '+') {
    return bad("expected name+keyid+key");
  }
  const std::string_view name = text.substr(0, first_plus);
  const std::string_view id_hex = text.substr(first_plus + 1, 8);
  const std::string_view key_text = text.substr(first_plus + 10);
  if (!is_valid_key_name(name)) return bad("bad key name");
  const auto id_bytes = from_hex(id_hex);
  if (!id_bytes || id_bytes->size() != 4 ||
      id_hex.find_first_not_of("0123456789abcdef") != std::string_view::npos) {
    return bad("key ID is not 8 lowercase hex digits");
  }
  const auto key_bytes = from_base64(key_text);
  if (!key_bytes || key_bytes->size() != 33) return bad("key is not the base64 of 33 bytes");
  if ((*key_bytes)[0] != ed25519_type) return bad("not an Ed25519 key (type 0x01)");
  NoteVerifierKey key;
  key.name = std::string(name);
  std::copy(key_bytes->begin() + 1, key_bytes->end(), key.public_key.begin());
  key.key_id = std::uint32_t{(*id_bytes)[0]} << 24 | std::uint32_t{(*id_bytes)[1]} << 16 |
               std::uint32_t{(*id_bytes)[2]} << 8 | std::uint32_t{(*id_bytes)[3]};
  if (key.key_id != note_key_id(key.name, key.public_key)) {
    return bad("key ID does not match the name and key");
  }
  return key;
}

std::string NoteVerifierKey::to_string() const {
  std::vector<std::uint8_t> typed;
  typed.push_back(ed25519_type);
  typed.insert(typed.end(), public_key.begin(), public_key.end());
  return name + "+" + hex8(key_id) + "+" + to_base64(typed);
}

std::string note_signature_line(std::string_view name, std::uint32_t key_id,
                                const Ed25519Signature& signature) {
  std::vector<std::uint8_t> blob{static_cast<std::uint8_t>(key_id >> 24),
                                 static_cast<std::uint8_t>(key_id >> 16),
                                 static_cast<std::uint8_t>(key_id >> 8),
                                 static_cast<std::uint8_t>(key_id)};
  blob.insert(blob.end(), signature.begin(), signature.end());
  std::string line(em_dash_space);
  line.append(name);
  line.push_back(' ');
  line.append(to_base64(blob));
  line.push_back('\n');
  return line;
}

Result<std::string> assemble_signed_note(std::string_view text, std::string_view name,
                                         std::uint32_t key_id, const Ed25519Signature& signature) {
  if (text.empty() || text.back() != '\n') return malformed("the text must end with a newline");
  CORDON_TRY_VOID(check_note_characters(text));
  if (!is_valid_key_name(name)) return malformed("bad key name");
  std::string note(text);
  note.push_back('\n');
  note.append(note_signature_line(name, key_id, signature));
  return note;
}

Result<std::string> open_signed_note(std::string_view note, const NoteVerifierKey& key) {
  CORDON_TRY_VOID(check_note_characters(note));
  const std::size_t separator = note.rfind("\n\n");
  if (separator == std::string_view::npos) return malformed("no blank line before the signatures");
  const std::string_view text = note.substr(0, separator + 1);
  std::string_view signatures = note.substr(separator + 2);
  if (signatures.empty() || signatures.back() != '\n') {
    return malformed("the signatures must end with a newline");
  }

  std::size_t count = 0;
  bool verified = false;
  while (!signatures.empty()) {
    const std::size_t end = signatures.find('\n');
    std::string_view line = signatures.substr(0, end);
    signatures.remove_prefix(end + 1);
    if (++count > max_signatures) return malformed("too many signatures");
    if (!line.starts_with(em_dash_space)) return malformed("a signature line must start with '— '");
    line.remove_prefix(em_dash_space.size());
    const std::size_t space = line.find(' ');
    if (space == std::string_view::npos || space == 0) return malformed("bad signature line");
    const std::string_view name = line.substr(0, space);
    const auto blob = from_base64(line.substr(space + 1));
    if (!blob || blob->size() < 5) return malformed("bad signature encoding");
    const std::uint32_t id = std::uint32_t{(*blob)[0]} << 24 | std::uint32_t{(*blob)[1]} << 16 |
                             std::uint32_t{(*blob)[2]} << 8 | std::uint32_t{(*blob)[3]};
    if (name != key.name || id != key.key_id) continue; // another key's signature
    const std::span<const std::uint8_t> signature(blob->data() + 4, blob->size() - 4);
    if (!crypto::ed25519_verify(key.public_key, as_bytes(text), signature)) {
      return fail(Errc::integrity, "signature by " + key.name + " does not verify");
    }
    verified = true;
  }
  if (!verified) return fail(Errc::integrity, "the note has no signature by " + key.name);
  return std::string(text);
}

} // namespace cordon::ledger

#include "auditd/ledger/checkpoint.h"

#include <charconv>

#include "common/encoding.h"

namespace cordon::ledger {
namespace {

tl::unexpected<Error> malformed(std::string message) {
  return fail(Errc::invalid_argument, "malformed checkpoint: " + std::move(message));
}

// The origin rules format_checkpoint writes and parse_checkpoint reads by, so that every
// checkpoint text parse_checkpoint accepts is exactly the one format_checkpoint writes for it.
Result<void> check_origin(std::string_view origin) {
  if (origin.empty()) return malformed("empty origin");
  for (const char c : origin) {
    if (static_cast<unsigned char>(c) < 0x20) return malformed("control character in the origin");
  }
  return ok();
}

} // namespace

Result<std::string> format_checkpoint(const Checkpoint& checkpoint) {
  CORDON_TRY_VOID(check_origin(checkpoint.origin));
  return checkpoint.origin + "\n" + std::to_string(checkpoint.size) + "\n" +
         hash_to_base64(checkpoint.root) + "\n";
}

Result<Checkpoint> parse_checkpoint(std::string_view text) {
  std::string_view lines[3];
  for (auto& line : lines) {
    const std::size_t end = text.find('\n');
    if (end == std::string_view::npos) return malformed("fewer than three lines");
    line = text.substr(0, end);
    text.remove_prefix(end + 1);
  }
  if (!text.empty()) return malformed("unexpected extension lines");

  Checkpoint checkpoint;
  CORDON_TRY_VOID(check_origin(lines[0]));
  checkpoint.origin = std::string(lines[0]);

  const std::string_view size = lines[1];
  const auto parsed = std::from_chars(size.data(), size.data() + size.size(), checkpoint.size);
  if (size.empty() || parsed.ec != std::errc() || parsed.ptr != size.data() + size.size() ||
      (size.size() > 1 && size[0] == '0')) {
    return malformed("the tree size is not a decimal number without leading zeros");
  }
  auto root = hash_from_base64(lines[2]);
  if (!root) return malformed("the root is not the base64 of 32 bytes");
  checkpoint.root = *root;
  return checkpoint;
}

Result<std::string> sign_checkpoint(const Checkpoint& checkpoint, const CheckpointSigner& signer) {
  const std::string text = CORDON_TRY(format_checkpoint(checkpoint));
  const auto signature = CORDON_TRY(signer.sign(as_bytes(text)));
  return assemble_signed_note(text, signer.name(), note_key_id(signer.name(), signer.public_key()),
                              signature);
}

Result<Checkpoint> open_checkpoint(std::string_view note, const NoteVerifierKey& key,
                                   std::string_view expected_origin) {
  const std::string text = CORDON_TRY(open_signed_note(note, key));
  auto checkpoint = CORDON_TRY(parse_checkpoint(text));
  if (!expected_origin.empty() && checkpoint.origin != expected_origin) {
    return fail(Errc::integrity, "checkpoint is for origin \"" + checkpoint.origin + "\", not \"" +
                                     std::string(expected_origin) + "\"");
  }
  return checkpoint;
}

} // namespace cordon::ledger

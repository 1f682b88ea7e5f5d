#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "auditd/ledger/checkpoint_signer.h"
#include "auditd/ledger/hash.h"
#include "auditd/ledger/signed_note.h"
#include "common/error.h"

// C2SP tlog-checkpoint (https://c2sp.org/tlog-checkpoint): the note text
// "<origin>\n<tree size>\n<base64 root>\n", signed as a C2SP signed note.
namespace cordon::ledger {

struct Checkpoint {
  std::string origin;
  std::uint64_t size = 0;
  Hash root{}; // for size 0, empty_root()

  bool operator==(const Checkpoint&) const = default;
};

// The note text of a checkpoint. The origin must be non-empty, without newlines or control
// characters (Errc::invalid_argument otherwise).
Result<std::string> format_checkpoint(const Checkpoint& checkpoint);

// Parses a checkpoint note text strictly: exactly three lines, each ending in '\n', a non-empty
// origin without control characters (as format_checkpoint requires), a decimal size without
// leading zeros, the base64 of a 32-byte root. Extension lines are refused (Cordon never writes
// them, and monitors cannot audit them). Errc::invalid_argument.
Result<Checkpoint> parse_checkpoint(std::string_view text);

// The signed checkpoint note. Errc::crypto or the signer's error if signing fails.
Result<std::string> sign_checkpoint(const Checkpoint& checkpoint, const CheckpointSigner& signer);

// Verifies a signed checkpoint against a pinned verifier key (see open_signed_note) and parses
// it. If `expected_origin` is non-empty the origin must equal it (Errc::integrity otherwise).
Result<Checkpoint> open_checkpoint(std::string_view note, const NoteVerifierKey& key,
                                   std::string_view expected_origin = {});

} // namespace cordon::ledger

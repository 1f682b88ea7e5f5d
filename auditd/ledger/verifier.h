#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "auditd/ledger/checkpoint.h"
#include "auditd/ledger/compact_range.h"
#include "auditd/ledger/hash.h"
#include "auditd/ledger/signed_note.h"
#include "common/error.h"

namespace cordon::ledger {

struct VerifyOptions {
  // The pinned key that must have signed every checkpoint (required if there are checkpoints).
  std::optional<NoteVerifierKey> key{};
  // Signed checkpoint notes; each must describe a prefix of the log (any order).
  std::vector<std::string> checkpoints{};
  // If non-empty, every checkpoint's origin must equal it.
  std::string origin{};
  // Hashing threads; 0 means one per hardware thread.
  unsigned threads = 0;
  // How each line is checked besides its hash. By default check_leaf_layout: every member's
  // place and format except the inside of data, whose bytes the chain and the signed root bind
  // anyway. `syntax` adds the JSON syntax of data (check_leaf, about 1.5 times the cost);
  // `canonical` parses every leaf in full and requires canonical JSON (parse_leaf, about ten
  // times slower).
  bool syntax = false;
  bool canonical = false;
};

// The first entry that could not be verified, and why. Entries before `index` are verified:
// well-formed, numbered by position, chained by prev, and (up to the largest checkpoint that
// matched) in the signed tree. A line at position i with another index (a line removed,
// inserted or moved) reports i. A broken prev link between entries i and i+1 that are both in
// place reports i: entry i no longer hashes to what the log recorded for it (or, which the chain
// cannot tell apart, entry i+1's prev was altered). A checkpoint whose
// root differs reports the size of the last checkpoint that matched (0 if none): the change lies
// somewhere after it, and a hash chain cannot say where.
struct VerifyFailure {
  std::uint64_t index = 0;
  std::string reason;
};

struct VerifyReport {
  std::uint64_t entries = 0; // entries verified (= failure->index when there is a failure)
  Hash root{};               // RFC 9162 root of all entries; only when ok()
  std::vector<Checkpoint> checkpoints; // the checkpoints that matched, by size
  std::optional<VerifyFailure> failure;

  bool ok() const { return !failure.has_value(); }
};

// Offline verification of a ledger streamed as JSONL (GET /v1/events output, a JSONL sink, or
// segment files in order): each line a well-formed event, index equal to its position, prev the
// leaf hash of the line before, and the Merkle root at each checkpoint's size equal to the signed
// root. Leaves are hashed in parallel in chunks of a few MiB; memory stays O(chunk + log n).
class LedgerVerifier {
public:
  // Verifies every checkpoint's signature against the pinned key up front: Errc::integrity or
  // Errc::invalid_argument for a checkpoint that does not verify or parse, or for checkpoints
  // without a key.
  static Result<std::unique_ptr<LedgerVerifier>> create(VerifyOptions options);
  ~LedgerVerifier();
  LedgerVerifier(const LedgerVerifier&) = delete;
  LedgerVerifier& operator=(const LedgerVerifier&) = delete;

  // The next bytes of the stream, split anywhere. Input after the first failure is ignored.
  void feed(std::string_view bytes);

  // Ends the stream. A final line without '\n' is a failure (a truncated file), and so is a
  // checkpoint for more entries than the stream held.
  VerifyReport finish();

private:
  class Impl;
  explicit LedgerVerifier(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
};

// Verifies the concatenation of `files`. Errc::io_error if one cannot be read; verification
// failures are in the report. Regular files are mapped (read-only, a window at a time) and
// hashed from the page cache; pipes and files that cannot be mapped are read. A mapped file that
// another process truncates while it is verified raises SIGBUS in the caller, as any mapped file
// does: the verification then ends in a crash, never in a report that it passed (cordon-audit
// turns the signal into a clear error). NUL bytes that end a file right after a line
// (or fill it) are skipped: they are a live segment's preallocated space (see SegmentStore),
// never entries. NUL bytes anywhere else are verified like any other byte, and fail.
Result<VerifyReport> verify_jsonl_files(std::span<const std::filesystem::path> files,
                                        VerifyOptions options);

} // namespace cordon::ledger

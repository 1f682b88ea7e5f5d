#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/error.h"

namespace cordon::audit {

// One ledger entry as a sink stores it. `leaf` is the event's canonical JSON exactly as the ledger
// hashed it (DESIGN.md §7); sinks store these bytes unchanged so that an auditor can re-hash them.
struct SinkEntry {
  std::uint64_t index = 0;
  std::string leaf;
  std::string leaf_hash_hex; // lowercase hex of SHA-256(0x00 || leaf), as computed by the ledger
  std::string tenant;
};

// A customer-owned copy of the ledger (DESIGN.md §7, "Sinks"). A sink always holds a prefix of the
// ledger: entries 0 .. cursor()-1, no gaps.
//
// A sink is driven by exactly one thread (its SinkRunner); implementations need not be
// thread-safe. Every failure is returned as a Result; a sink never throws. A sink that lost its
// connection or file reconnects or reopens by itself on the next call.
class Sink {
public:
  virtual ~Sink() = default;

  // A short stable name for logs and the status route, e.g. "postgres" or "jsonl:/var/…".
  virtual std::string_view name() const = 0;

  // The next index the sink needs, read from the sink's own durable state (not from memory), so
  // that a restarted runner resumes exactly where the stored copy ends.
  virtual Result<std::uint64_t> cursor() = 0;

  // Durably stores `entries`, which hold consecutive indexes starting at `first_index`. Entries
  // the sink already holds are skipped, not duplicated (re-sending is idempotent); an entry that
  // would leave a gap after the stored prefix fails with Errc::conflict. On success every entry
  // is durable; on failure any prefix of them may be, and cursor() tells how far.
  virtual Result<void> write(std::uint64_t first_index, std::span<const SinkEntry> entries) = 0;
};

// Fails with Errc::invalid_argument unless `entries` hold consecutive indexes from `first_index`.
Result<void> check_consecutive(std::uint64_t first_index, std::span<const SinkEntry> entries);

} // namespace cordon::audit

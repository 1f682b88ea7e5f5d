#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "auditd/ledger/event.h"
#include "auditd/ledger/hash.h"
#include "auditd/ledger/merkle.h"
#include "auditd/ledger/segment_store.h"
#include "common/clock.h"
#include "common/error.h"

namespace cordon::ledger {

struct LedgerOptions {
  // The tenant this ledger serves, written into every event (1..128 bytes).
  std::string tenant{};
  // The tenant's key for HMAC-ing sensitive values (at least 16 bytes).
  std::vector<std::uint8_t> salt{};
  std::uint64_t segment_bytes = std::uint64_t{64} << 20;
  // Appends beyond this many queued, not yet committed events fail at once with
  // Errc::unavailable rather than growing memory without bound.
  std::size_t max_queued_events = 1 << 20;
  // Called on the commit thread after each commit with the new size (e.g. to wake sinks). Must
  // be quick and must not call back into append().
  std::function<void(std::uint64_t size)> on_commit{};
  // The durability calls; system_disk() when null. Must outlive the ledger.
  Disk* disk = nullptr;
};

// The acknowledgement of one appended event.
struct Ack {
  std::uint64_t index = 0;
  std::string leaf_hash; // lowercase hex of SHA-256(0x00 || leaf)
};

// Receives the outcome of one append() on the commit thread: one Ack per event, in the order
// given, or the error that kept all of them out of the ledger. Must be quick and must not throw.
using AppendCallback = std::function<void(Result<std::vector<Ack>>)>;

// Which events GET /v1/events returns. Unset members match everything; set ones match exactly.
struct EventFilter {
  std::optional<std::string> kind{};
  std::optional<std::string> run_id{};
  std::optional<std::string> source{};
};

struct LedgerEntry {
  std::uint64_t index = 0;
  std::string leaf; // exactly the hashed bytes
  Hash leaf_hash{};
};

struct EventPage {
  std::vector<LedgerEntry> entries;
  // The first index not examined: a client continues from here (equal to `to` when the whole
  // range was examined, smaller when `limit` stopped the scan).
  std::uint64_t next = 0;
};

// A tree size and its root, read together.
struct TreeHead {
  std::uint64_t size = 0;
  Hash root{};
};

// The audit ledger of one tenant: a segment store on disk, the Merkle tree over it, and a
// group-commit thread.
//
// Appends are asynchronous: append() queues a request's events; the commit thread takes every
// queued request at once, gives the events consecutive indexes, one timestamp and their prev
// links, writes them with one write and one fdatasync, adds them to the tree, and only then
// calls each request's callback. An event is never acknowledged before it is durable, a request's
// events are consecutive and acknowledged together, and a failed write (disk full, I/O error)
// fails every request of that group with Errc::unavailable while leaving the ledger usable.
//
// Gathering: a group is not cut short by the first request that arrives after a commit. When
// the last commit took R requests and fewer are queued, the commit thread waits for R of them,
// for at most as long as that commit took (and never more than a millisecond), unless the queue
// had been idle longer than that, so that writers who each wait for their ack before sending
// again share one fdatasync instead of alternating between two. A lone writer never waits.
//
// Event times never go backwards: a clock reading earlier than the last event's time is
// raised to it.
//
// Readers (size, roots, proofs, tiles, events) may be called from any thread at any time; they
// see only acknowledged entries, and the commit thread holds their lock only to publish, never
// while writing or syncing.
class Ledger {
public:
  // Opens the ledger in `directory` (see SegmentStore::open for recovery and integrity checks)
  // and starts the commit thread. `clock` must outlive the ledger.
  static Result<std::unique_ptr<Ledger>> open(const std::filesystem::path& directory,
                                              LedgerOptions options,
                                              const Clock& clock = SystemClock::instance());
  // Commits whatever is queued, then stops the commit thread.
  ~Ledger();
  Ledger(const Ledger&) = delete;
  Ledger& operator=(const Ledger&) = delete;

  // The context for prepare_event(s) of a request from `source` (the role auditd derived from
  // the peer's credentials). The view is valid while the ledger lives and `source` does.
  EventContext context(std::string_view source) const;

  // Queues the events of one request (see the class comment). `done` is called exactly once,
  // on the commit thread, or at once on the calling thread if the queue is full or the ledger
  // is closing (Errc::unavailable). An empty `events` is acknowledged with no Acks.
  void append(std::vector<PreparedEvent> events, AppendCallback done);

  // append() and wait for the outcome: for tools and tests.
  Result<std::vector<Ack>> append_and_wait(std::vector<PreparedEvent> events);

  std::uint64_t size() const;
  TreeHead head() const;
  // Errc::invalid_argument for sizes beyond size(); see MerkleTree for the proofs' edge cases.
  Result<Hash> root(std::uint64_t tree_size) const;
  Result<std::vector<Hash>> inclusion_proof(std::uint64_t index, std::uint64_t tree_size) const;
  Result<std::vector<Hash>> consistency_proof(std::uint64_t old_size, std::uint64_t new_size) const;
  // Errc::not_found for an index ≥ size().
  Result<Hash> leaf_hash(std::uint64_t index) const;

  // Entries [from, min(to, size())) that match `filter`, at most `limit` of them and, past the
  // first, at most `max_bytes` of leaves in all, each checked against the tree's leaf hash
  // (Errc::integrity if a segment file changed under the ledger). Errc::invalid_argument if
  // from > size() or from > to.
  Result<EventPage> events(std::uint64_t from, std::uint64_t to, const EventFilter& filter = {},
                           std::size_t limit = 1000,
                           std::size_t max_bytes = default_page_bytes) const;
  static constexpr std::size_t default_page_bytes = std::size_t{16} << 20;

  // C2SP tlog-tiles hash tile: level L, index N, width W (1..256) is the concatenation of the
  // 32-byte hashes of the complete subtrees of 2^(8L) leaves numbered N·256 .. N·256+W-1.
  // Errc::not_found if the tree does not have them yet; Errc::invalid_argument for L > 7 or a
  // width outside 1..256.
  Result<std::string> tile(unsigned level, std::uint64_t index, unsigned width) const;

  // C2SP tlog-tiles entry bundle: entries N·256 .. N·256+W-1, each as a big-endian uint16
  // length and the leaf bytes. Same errors as tile().
  Result<std::string> entry_bundle(std::uint64_t index, unsigned width) const;

  // Bytes of torn tail that open() removed.
  std::uint64_t recovered_bytes() const { return m_store->truncated_bytes(); }

private:
  struct Pending {
    std::vector<PreparedEvent> events;
    AppendCallback done;
  };

  Ledger(LedgerOptions options, const Clock& clock, std::unique_ptr<SegmentStore> store);
  void commit_loop();
  void commit(std::vector<Pending>& group);
  std::string next_time();

  LedgerOptions m_options;
  const Clock& m_clock;
  std::unique_ptr<SegmentStore> m_store;

  // Readers' lock over the tree and the published size.
  mutable std::shared_mutex m_tree_mutex;
  MerkleTree m_tree;
  std::uint64_t m_size = 0;

  // Owned by the commit thread (set by open() before it starts).
  Hash m_last_hash{};
  std::chrono::system_clock::time_point m_last_time{};
  LeafBatch m_batch;
  std::vector<Hash> m_batch_hashes;

  std::mutex m_queue_mutex;
  std::condition_variable m_queue_changed;
  std::vector<Pending> m_queue;
  std::size_t m_queued_events = 0;
  std::size_t m_wake_at = 1; // append() wakes the commit thread once this many requests queue
  bool m_stopping = false;
  std::thread m_commit_thread;
};

} // namespace cordon::ledger

#pragma once

#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/disk.h"
#include "auditd/ledger/hash.h"
#include "common/error.h"

namespace cordon::ledger {

struct SegmentStoreOptions {
  // A new segment is started before a batch that would take the current one past this size
  // (a single larger batch still goes into one segment).
  std::uint64_t segment_bytes = std::uint64_t{64} << 20;
  // The durability calls; system_disk() when null. Must outlive the store.
  Disk* disk = nullptr;
};

// Leaves laid out as a segment file holds them, each followed by '\n', so that a batch is
// written with one call.
struct LeafBatch {
  std::string bytes;
  std::vector<std::uint32_t> lengths; // each leaf's length, without its newline

  // Adds a leaf, which must not contain '\n' (canonical JSON never does).
  void add(std::string_view leaf);
  std::size_t size() const { return lengths.size(); }
  bool empty() const { return lengths.empty(); }
  void clear();
};

// The ledger's entries on disk: append-only files `seg-<index of first entry, 16 digits>.jsonl`
// in one directory, one leaf per line. A directory holds one store at a time (an flock on
// `LOCK` refuses a second opener).
//
// Durability: append() returns only after the batch's bytes are on disk (fdatasync, and an fsync
// of the directory when it created a segment). Recovery: open() keeps every entry that a
// successful append() wrote, and drops only a torn tail (see open()).
//
// Preallocation: while open, the last segment is extended ahead of its entries, 256 KiB at a time,
// with reserved blocks that read as NUL bytes (Disk::allocate). When the append that needs more
// space is small (up to 64 KiB: a few events, whose fdatasync is mostly the file system's own
// commit), the zeros are written too, so that the appends after it overwrite in place and their
// fdatasync writes the data alone: not the file's size, nor the conversion of fallocate's
// unwritten extents (on ext4 here: 0.12–0.14 ms against 0.19–0.24 ms). A large append does not
// pay for them: there, writing every block twice costs more than the commit it saves. A segment is cut back to its entries when the store rotates away from
// it and when the store is closed; after a crash, the last segments may end in NUL bytes, which
// open() and the verifier know are not entries.
//
// Threads: append() is called by one thread at a time; size() and the readers may run
// concurrently with it and see only appended (durable) entries.
class SegmentStore {
public:
  // How far the active segment is preallocated beyond the end of a batch (capped by the segment
  // size). The commit that extends it writes these zeros and its fdatasync flushes them, so this
  // is also the largest stall a commit can meet: 4 MiB held every writer's ack for several
  // milliseconds each time (w64 p99 7–8 ms against 3.2–3.4 ms at 256 KiB, docs/performance.md).
  static constexpr std::uint64_t preallocate_bytes = std::uint64_t{256} << 10;
  // Called for each entry found by open(), in order, with its RFC 6962 leaf hash.
  using EntryVisitor =
      std::function<void(std::uint64_t index, std::string_view leaf, const Hash& leaf_hash)>;
  // Called by read() for each entry in order; return false to stop early.
  using ReadVisitor = std::function<bool(std::uint64_t index, std::string_view leaf)>;

  // Opens (creating if needed) the store in `directory` and checks every entry: each line is a
  // well-formed event (check_leaf), its index is its position, its prev is the leaf hash of the
  // entry before (zeros for entry 0), and segment names match their first entries.
  //
  // A torn tail is truncated (and the truncation made durable): bytes after the last good entry
  // of the last segment that cannot be an acknowledged entry, namely a final line without '\n'
  // (a write cut short; garbage or zeros included), or a line holding a NUL byte (a block the
  // file system allocated but never wrote, which only happens to data that was never synced)
  // together with everything after it. Unused preallocated space (NUL bytes alone, after the
  // last entry of any segment) is cut too, but is not a torn tail and is not counted. Anything else that fails the checks is corruption, not a
  // torn write: open fails closed with Errc::integrity naming the first bad index and segment.
  // Errc::unavailable if another process holds the directory; Errc::io_error if it cannot be
  // read or created.
  static Result<std::unique_ptr<SegmentStore>> open(const std::filesystem::path& directory,
                                                    SegmentStoreOptions options = {},
                                                    const EntryVisitor& on_entry = {});
  ~SegmentStore();
  SegmentStore(const SegmentStore&) = delete;
  SegmentStore& operator=(const SegmentStore&) = delete;

  // Number of durable entries.
  std::uint64_t size() const;
  // The leaf hash of the last entry found by open() (zero_hash if none). The writer tracks the
  // chain after that itself.
  const Hash& opened_last_leaf_hash() const { return m_opened_last_hash; }
  // Bytes of torn tail that open() removed, trailing NUL bytes not counted (0 for a clean
  // shutdown).
  std::uint64_t truncated_bytes() const { return m_truncated_bytes; }

  // Appends the batch as entries size() .. size()+batch.size()-1 with one write and one
  // fdatasync. On any failure (ENOSPC, EIO, …) the segment is cut back to its last durable
  // length and Errc::unavailable is returned ("ledger write failed: No space left on device");
  // the store stays usable and a later append() succeeds once the disk does. If even the cut
  // fails, every later append fails too, until the store is reopened; open() then keeps the
  // complete entries of the failed batch that reached the disk (never acknowledged, but valid
  // and chained: an over-record, never a loss) and truncates the rest as a torn tail.
  // The caller guarantees that leaves form a valid chain; append() does not re-check them.
  Result<void> append(const LeafBatch& batch);

  // Visits entries [from, to) in order, with the bytes exactly as stored (without '\n').
  // Errc::invalid_argument unless from ≤ to ≤ size(); Errc::io_error if a file cannot be read.
  Result<void> read(std::uint64_t from, std::uint64_t to, const ReadVisitor& visit) const;
  Result<std::string> read_leaf(std::uint64_t index) const;

  const std::filesystem::path& directory() const { return m_directory; }

private:
  struct Segment {
    std::uint64_t first_index = 0;
    std::uint64_t bytes = 0; // durable length
    std::filesystem::path path;
  };

  SegmentStore(std::filesystem::path directory, SegmentStoreOptions options);
  Result<void> scan_segment(std::size_t position, bool last, const EntryVisitor& on_entry,
                            Hash& prev);
  Result<void> start_segment();
  Result<void> rotate_if_needed(std::uint64_t incoming_bytes);
  // Extends the active segment's preallocation to cover `end` and some way beyond, with written
  // zeros if `write_zeros`; best effort.
  void reserve(std::uint64_t end, bool write_zeros);
  // Cuts the active segment back to its entries and syncs it. Returns 0 or an errno value.
  int trim_active();
  std::uint64_t entry_end(std::size_t segment, std::uint64_t index) const; // needs m_mutex

  std::filesystem::path m_directory;
  SegmentStoreOptions m_options;
  Disk* m_disk;
  int m_directory_fd = -1;
  int m_lock_fd = -1;
  int m_active_fd = -1; // the last segment, open for writing
  std::uint64_t m_allocated = 0; // the active segment's file size, preallocation included
  bool m_preallocate = true;     // false once the file system refused fallocate
  bool m_broken = false;
  Hash m_opened_last_hash{};
  std::uint64_t m_truncated_bytes = 0;

  // Readers take m_mutex shared; append() takes it exclusively only to publish new entries and
  // segments, never while writing or syncing.
  mutable std::shared_mutex m_mutex;
  std::vector<Segment> m_segments;
  std::deque<std::uint64_t> m_offsets; // entry i starts at byte m_offsets[i] of its segment
  std::uint64_t m_size = 0;
};

} // namespace cordon::ledger

#include "auditd/ledger/segment_store.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <optional>
#include <system_error>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auditd/ledger/event.h"
#include "common/file_descriptor.h"

namespace cordon::ledger {
namespace {

constexpr std::string_view segment_prefix = "seg-";
constexpr std::string_view segment_suffix = ".jsonl";
constexpr std::size_t segment_digits = 16;
// Appends up to this size get their preallocation as written zeros (see the header).
constexpr std::uint64_t zero_fill_max_batch_bytes = 64 << 10;
// Reads are done in blocks of about this size, cut at entry boundaries.
constexpr std::uint64_t read_block_bytes = 4 << 20;
// Entries whose offsets are copied per acquisition of the reader lock.
constexpr std::uint64_t read_window_entries = 65536;

std::string errno_text(int error) { return std::generic_category().message(error); }

std::string segment_name(std::uint64_t first_index) {
  char digits[32];
  std::snprintf(digits, sizeof digits, "%016llu", static_cast<unsigned long long>(first_index));
  return std::string(segment_prefix) + digits + std::string(segment_suffix);
}

// The first index a segment file name declares, or nullopt if it is not one.
std::optional<std::uint64_t> parse_segment_name(std::string_view name) {
  if (name.size() != segment_prefix.size() + segment_digits + segment_suffix.size() ||
      !name.starts_with(segment_prefix) || !name.ends_with(segment_suffix)) {
    return std::nullopt;
  }
  const std::string_view digits = name.substr(segment_prefix.size(), segment_digits);
  std::uint64_t value = 0;
  const auto parsed = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (parsed.ec != std::errc() || parsed.ptr != digits.data() + digits.size()) return std::nullopt;
  return value;
}


// A read-only view of a whole file.
class Mapping {
public:
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping() {
    if (m_data != nullptr) ::munmap(m_data, m_size);
  }
  static Result<std::unique_ptr<Mapping>> open(const std::filesystem::path& path) {
    FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) {
      return fail(Errc::io_error, "cannot open " + path.string() + ": " + errno_text(errno));
    }
    struct stat status {};
    if (::fstat(fd.get(), &status) != 0) {
      return fail(Errc::io_error, "cannot stat " + path.string() + ": " + errno_text(errno));
    }
    auto mapping = std::unique_ptr<Mapping>(new Mapping());
    mapping->m_size = static_cast<std::size_t>(status.st_size);
    if (mapping->m_size == 0) return mapping;
    void* data = ::mmap(nullptr, mapping->m_size, PROT_READ, MAP_PRIVATE, fd.get(), 0);
    if (data == MAP_FAILED) {
      return fail(Errc::io_error, "cannot map " + path.string() + ": " + errno_text(errno));
    }
    ::madvise(data, mapping->m_size, MADV_SEQUENTIAL);
    mapping->m_data = data;
    return mapping;
  }
  std::string_view text() const {
    return m_data == nullptr ? std::string_view() : std::string_view(static_cast<const char*>(m_data), m_size);
  }

private:
  Mapping() = default;
  void* m_data = nullptr;
  std::size_t m_size = 0;
};

// Whether `rest` is only preallocated space that was never written: NUL bytes alone.
bool is_unused_space(std::string_view rest) {
  return rest.find_first_not_of('\0') == std::string_view::npos;
}

// Whether the bytes from a failed entry to the end of the last segment can be a torn write: a
// final line without '\n', or a first line holding a NUL (never-written blocks read as zeros).
// A complete line of non-zero bytes was written by someone, so it is not torn.
bool is_torn_tail(std::string_view rest) {
  if (is_unused_space(rest)) return false;
  const std::size_t newline = rest.find('\n');
  if (newline == std::string_view::npos) return true;
  return rest.substr(0, newline).find('\0') != std::string_view::npos;
}

Error corruption(std::uint64_t index, const std::filesystem::path& segment, std::uint64_t byte,
                 const std::string& reason) {
  return Error{Errc::integrity, "ledger is corrupt at entry " + std::to_string(index) + " (" +
                                    segment.filename().string() + ", byte " + std::to_string(byte) +
                                    "): " + reason};
}

int fsync_parent(const std::filesystem::path& directory) {
  const auto parent = directory.parent_path().empty() ? std::filesystem::path(".") : directory.parent_path();
  FileDescriptor fd(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return errno;
  return ::fsync(fd.get()) == 0 ? 0 : errno;
}

} // namespace

void LeafBatch::add(std::string_view leaf) {
  bytes.append(leaf);
  bytes.push_back('\n');
  lengths.push_back(static_cast<std::uint32_t>(leaf.size()));
}

void LeafBatch::clear() {
  bytes.clear();
  lengths.clear();
}

SegmentStore::SegmentStore(std::filesystem::path directory, SegmentStoreOptions options)
    : m_directory(std::move(directory)), m_options(options),
      m_disk(options.disk != nullptr ? options.disk : &system_disk()) {}

SegmentStore::~SegmentStore() {
  if (m_active_fd >= 0) {
    if (!m_broken) trim_active(); // best effort: open() also cuts unused space
    ::close(m_active_fd);
  }
  if (m_directory_fd >= 0) ::close(m_directory_fd);
  if (m_lock_fd >= 0) ::close(m_lock_fd); // releases the flock
}

Result<std::unique_ptr<SegmentStore>> SegmentStore::open(const std::filesystem::path& directory,
                                                         SegmentStoreOptions options,
                                                         const EntryVisitor& on_entry) {
  if (options.segment_bytes == 0) return fail(Errc::invalid_argument, "segment size must be positive");
  std::error_code error;
  if (std::filesystem::create_directories(directory, error)) {
    if (const int synced = fsync_parent(directory); synced != 0) {
      return fail(Errc::io_error, "cannot sync the parent of " + directory.string() + ": " +
                                      errno_text(synced));
    }
  }
  if (error) {
    return fail(Errc::io_error, "cannot create " + directory.string() + ": " + error.message());
  }
  auto store = std::unique_ptr<SegmentStore>(new SegmentStore(directory, options));

  store->m_lock_fd = ::open((directory / "LOCK").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (store->m_lock_fd < 0) {
    return fail(Errc::io_error, "cannot open " + (directory / "LOCK").string() + ": " + errno_text(errno));
  }
  if (::flock(store->m_lock_fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return fail(Errc::unavailable, "ledger directory " + directory.string() + " is in use");
    }
    return fail(Errc::io_error, "cannot lock " + directory.string() + ": " + errno_text(errno));
  }
  store->m_directory_fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (store->m_directory_fd < 0) {
    return fail(Errc::io_error, "cannot open " + directory.string() + ": " + errno_text(errno));
  }

  for (const auto& entry : std::filesystem::directory_iterator(directory, error)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with(segment_prefix)) continue;
    const auto first_index = parse_segment_name(name);
    if (!first_index) {
      return fail(Errc::integrity, "unexpected file " + name + " in ledger directory " + directory.string());
    }
    store->m_segments.push_back(Segment{*first_index, 0, entry.path()});
  }
  if (error) {
    return fail(Errc::io_error, "cannot list " + directory.string() + ": " + error.message());
  }
  std::sort(store->m_segments.begin(), store->m_segments.end(),
            [](const Segment& a, const Segment& b) { return a.first_index < b.first_index; });

  Hash prev = zero_hash;
  for (std::size_t i = 0; i < store->m_segments.size(); ++i) {
    CORDON_TRY_VOID(store->scan_segment(i, i + 1 == store->m_segments.size(), on_entry, prev));
  }
  store->m_opened_last_hash = prev;

  if (!store->m_segments.empty()) {
    const auto& last = store->m_segments.back();
    store->m_active_fd = ::open(last.path.c_str(), O_RDWR | O_CLOEXEC);
    if (store->m_active_fd < 0) {
      return fail(Errc::io_error, "cannot open " + last.path.string() + ": " + errno_text(errno));
    }
    store->m_allocated = last.bytes; // the scan cut any unused space
  }
  return store;
}

Result<void> SegmentStore::scan_segment(std::size_t position, bool last,
                                        const EntryVisitor& on_entry, Hash& prev) {
  Segment& segment = m_segments[position];
  if (segment.first_index != m_size) {
    return tl::unexpected<Error>(corruption(m_size, segment.path, 0,
                   "segment is named for entry " + std::to_string(segment.first_index) +
                       " but the entries before it end at " + std::to_string(m_size)));
  }
  const auto mapping = CORDON_TRY(Mapping::open(segment.path));
  const std::string_view text = mapping->text();

  std::size_t position_in_file = 0;
  std::optional<Error> problem;
  while (position_in_file < text.size()) {
    const std::size_t newline = text.find('\n', position_in_file);
    if (newline == std::string_view::npos) {
      problem = corruption(m_size, segment.path, position_in_file, "the last line has no newline");
      break;
    }
    const std::string_view line = text.substr(position_in_file, newline - position_in_file);
    const auto fields = check_leaf(line);
    if (!fields) {
      problem = corruption(m_size, segment.path, position_in_file, fields.error().message);
      break;
    }
    if (fields->index != m_size) {
      problem = corruption(m_size, segment.path, position_in_file,
                           "the entry at this position has index " + std::to_string(fields->index));
      break;
    }
    if (fields->prev != prev) {
      // Entry m_size records a different hash for its predecessor: the predecessor (or this
      // entry's prev) was altered. The first entry that can no longer be trusted is the earlier.
      const std::uint64_t bad = m_size == 0 ? 0 : m_size - 1;
      problem = corruption(bad, segment.path, position_in_file,
                           m_size == 0 ? std::string("entry 0 does not have an all-zero prev")
                                       : "entry " + std::to_string(bad) +
                                             " does not hash to the prev recorded by entry " +
                                             std::to_string(m_size));
      break;
    }
    const Hash hash = leaf_hash(line);
    if (on_entry) on_entry(m_size, line, hash);
    m_offsets.push_back(position_in_file);
    prev = hash;
    ++m_size;
    position_in_file = newline + 1;
  }
  segment.bytes = position_in_file;

  const std::string_view rest = text.substr(position_in_file);
  if (problem && is_unused_space(rest)) problem.reset(); // preallocated, never written
  if (problem && (!last || !is_torn_tail(rest))) return tl::unexpected<Error>(*problem);
  if (!rest.empty()) {
    // Counted before the cut: the mapping's pages past the new end fault once it is cut.
    const std::uint64_t torn_bytes = rest.find_last_not_of('\0') + 1; // npos + 1 == 0: NULs alone
    FileDescriptor fd(::open(segment.path.c_str(), O_RDWR | O_CLOEXEC));
    if (fd.get() < 0) {
      return fail(Errc::io_error, "cannot open " + segment.path.string() + ": " + errno_text(errno));
    }
    int cut = m_disk->truncate(fd.get(), position_in_file);
    if (cut == 0) cut = m_disk->sync_data(fd.get());
    if (cut != 0) {
      return fail(Errc::io_error, "cannot truncate the torn tail of " + segment.path.string() +
                                      ": " + errno_text(cut));
    }
    m_truncated_bytes += torn_bytes;
  }
  if (!last && m_size == segment.first_index) {
    return tl::unexpected<Error>(
        corruption(m_size, segment.path, 0, "a segment other than the last holds no entries"));
  }
  return ok();
}

std::uint64_t SegmentStore::size() const {
  std::shared_lock lock(m_mutex);
  return m_size;
}

int SegmentStore::trim_active() {
  if (m_allocated <= m_segments.back().bytes) return 0;
  int error = m_disk->truncate(m_active_fd, m_segments.back().bytes);
  if (error == 0) error = m_disk->sync_data(m_active_fd);
  if (error == 0) m_allocated = m_segments.back().bytes;
  return error;
}

void SegmentStore::reserve(std::uint64_t end, bool write_zeros) {
  if (!m_preallocate || end <= m_allocated) return;
  const std::uint64_t target = std::max(end, std::min(end + preallocate_bytes, m_options.segment_bytes));
  const int error = m_disk->allocate(m_active_fd, m_allocated, target - m_allocated, write_zeros);
  if (error == 0) {
    m_allocated = target;
    return;
  }
  // A file system that can neither reserve nor take the zeros: plain appends from now on. (A
  // refused fallocate alone, for a large append, is no reason to stop giving small ones zeros.)
  if (write_zeros && (error == EOPNOTSUPP || error == ENOSYS)) m_preallocate = false;
  // The file may have grown over part of the range: trim_active() must still cut it back.
  struct stat status {};
  if (::fstat(m_active_fd, &status) == 0) {
    m_allocated = std::max(m_allocated, static_cast<std::uint64_t>(status.st_size));
  }
  // Otherwise (ENOSPC, …) the write that follows finds out whether the batch itself fits.
}

Result<void> SegmentStore::start_segment() {
  const std::uint64_t first_index = m_size; // only the writer changes m_size
  if (!m_segments.empty()) {
    // The segment being left keeps its entries only, so that only the last one can ever end in
    // unused space.
    if (const int trimmed = trim_active(); trimmed != 0) {
      return fail(Errc::unavailable, "ledger write failed: cannot trim " +
                                         m_segments.back().path.filename().string() + ": " +
                                         errno_text(trimmed));
    }
  }
  const auto path = m_directory / segment_name(first_index);
  FileDescriptor fd(::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640));
  if (fd.get() < 0) {
    return fail(Errc::unavailable, "ledger write failed: cannot create " + path.filename().string() +
                                       ": " + errno_text(errno));
  }
  if (const int synced = m_disk->sync_all(m_directory_fd); synced != 0) {
    ::unlink(path.c_str());
    return fail(Errc::unavailable, "ledger write failed: cannot sync the ledger directory: " +
                                       errno_text(synced));
  }
  {
    std::unique_lock lock(m_mutex);
    m_segments.push_back(Segment{first_index, 0, path});
  }
  if (m_active_fd >= 0) ::close(m_active_fd);
  m_active_fd = fd.release();
  m_allocated = 0;
  return ok();
}

Result<void> SegmentStore::rotate_if_needed(std::uint64_t incoming_bytes) {
  if (m_segments.empty()) return start_segment();
  const Segment& active = m_segments.back();
  if (active.bytes > 0 && active.bytes + incoming_bytes > m_options.segment_bytes) {
    return start_segment();
  }
  return ok();
}

Result<void> SegmentStore::append(const LeafBatch& batch) {
  if (batch.empty()) return ok();
  if (m_broken) {
    return fail(Errc::unavailable, "ledger write failed: an earlier failed write could not be "
                                   "undone; restart auditd to repair the ledger");
  }
  CORDON_TRY_VOID(rotate_if_needed(batch.bytes.size()));
  const std::uint64_t offset = m_segments.back().bytes;
  reserve(offset + batch.bytes.size(), batch.bytes.size() <= zero_fill_max_batch_bytes);

  int error = m_disk->write_at(m_active_fd, batch.bytes, offset);
  if (error == 0) error = m_disk->sync_data(m_active_fd);
  if (error != 0) {
    // Nothing of this batch is acknowledged; cut the file back so the next batch starts at the
    // durable end. If that fails too, the file's tail is unknown: refuse further appends.
    int cut = m_disk->truncate(m_active_fd, offset);
    if (cut == 0) cut = m_disk->sync_data(m_active_fd);
    m_allocated = offset; // at most; the next append extends it again
    std::string message = "ledger write failed: " + errno_text(error);
    if (cut != 0) {
      m_broken = true;
      message += "; cutting the segment back also failed (" + errno_text(cut) + ")";
    }
    return fail(Errc::unavailable, std::move(message));
  }

  std::unique_lock lock(m_mutex);
  Segment& active = m_segments.back();
  std::uint64_t position = offset;
  for (const std::uint32_t length : batch.lengths) {
    m_offsets.push_back(position);
    position += length + 1;
  }
  active.bytes = position;
  m_size += batch.size();
  return ok();
}

std::uint64_t SegmentStore::entry_end(std::size_t segment, std::uint64_t index) const {
  const bool last_in_segment =
      index + 1 == m_size ||
      (segment + 1 < m_segments.size() && index + 1 == m_segments[segment + 1].first_index);
  return last_in_segment ? m_segments[segment].bytes : m_offsets[index + 1];
}

Result<void> SegmentStore::read(std::uint64_t from, std::uint64_t to, const ReadVisitor& visit) const {
  struct Piece {
    std::filesystem::path path;
    std::uint64_t first_index = 0;
    std::vector<std::uint64_t> bounds; // entry starts, then the end of the last entry
  };
  {
    std::shared_lock lock(m_mutex);
    if (from > to || to > m_size) {
      return fail(Errc::invalid_argument, "entries [" + std::to_string(from) + ", " +
                                              std::to_string(to) + ") are not within the ledger's " +
                                              std::to_string(m_size));
    }
  }
  std::vector<char> block;
  std::uint64_t next = from;
  while (next < to) {
    std::vector<Piece> pieces;
    {
      std::shared_lock lock(m_mutex);
      const std::uint64_t window_end = std::min(to, next + read_window_entries);
      auto segment = static_cast<std::size_t>(
          std::upper_bound(m_segments.begin(), m_segments.end(), next,
                           [](std::uint64_t index, const Segment& s) { return index < s.first_index; }) -
          m_segments.begin() - 1);
      for (std::uint64_t index = next; index < window_end; ++segment) {
        const std::uint64_t segment_end =
            segment + 1 < m_segments.size() ? m_segments[segment + 1].first_index : m_size;
        const std::uint64_t last = std::min(window_end, segment_end);
        Piece piece{m_segments[segment].path, index, {}};
        piece.bounds.reserve(last - index + 1);
        for (std::uint64_t i = index; i < last; ++i) piece.bounds.push_back(m_offsets[i]);
        piece.bounds.push_back(entry_end(segment, last - 1));
        pieces.push_back(std::move(piece));
        index = last;
      }
      next = window_end;
    }

    for (const Piece& piece : pieces) {
      FileDescriptor fd(::open(piece.path.c_str(), O_RDONLY | O_CLOEXEC));
      if (fd.get() < 0) {
        return fail(Errc::io_error, "cannot open " + piece.path.string() + ": " + errno_text(errno));
      }
      const std::size_t entries = piece.bounds.size() - 1;
      for (std::size_t begin = 0; begin < entries;) {
        std::size_t end = begin + 1;
        while (end < entries && piece.bounds[end + 1] - piece.bounds[begin] <= read_block_bytes) ++end;
        const std::uint64_t start_byte = piece.bounds[begin];
        const std::size_t length = piece.bounds[end] - start_byte;
        block.resize(length);
        std::size_t done = 0;
        while (done < length) {
          const ssize_t got = ::pread(fd.get(), block.data() + done, length - done,
                                      static_cast<off_t>(start_byte + done));
          if (got < 0 && errno == EINTR) continue;
          if (got <= 0) {
            return fail(Errc::io_error, "cannot read " + piece.path.string() + ": " +
                                            (got < 0 ? errno_text(errno) : "file is shorter than its index"));
          }
          done += static_cast<std::size_t>(got);
        }
        for (std::size_t k = begin; k < end; ++k) {
          const std::size_t at = piece.bounds[k] - start_byte;
          const std::size_t size = piece.bounds[k + 1] - piece.bounds[k] - 1; // without '\n'
          if (!visit(piece.first_index + k, std::string_view(block.data() + at, size))) return ok();
        }
        begin = end;
      }
    }
  }
  return ok();
}

Result<std::string> SegmentStore::read_leaf(std::uint64_t index) const {
  std::string leaf;
  {
    std::shared_lock lock(m_mutex);
    if (index >= m_size) {
      return fail(Errc::not_found, "no entry " + std::to_string(index) + " in a ledger of " +
                                       std::to_string(m_size));
    }
  }
  CORDON_TRY_VOID(read(index, index + 1, [&](std::uint64_t, std::string_view bytes) {
    leaf.assign(bytes);
    return true;
  }));
  return leaf;
}

} // namespace cordon::ledger

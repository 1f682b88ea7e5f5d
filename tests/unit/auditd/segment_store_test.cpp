#include <catch2/catch.hpp>

#include <cerrno>
#include <cstdlib>
#include <string>
#include <vector>

#include <fcntl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "auditd/ledger/segment_store.h"
#include "test_support.h"
#include "tests/support/faulty_disk.h"

using namespace cordon;
using namespace cordon::ledger;
using namespace cordon::ledger::testing;

namespace {

std::unique_ptr<SegmentStore> open_store(const TempDir& dir, SegmentStoreOptions options = {}) {
  auto store = SegmentStore::open(dir.path(), options);
  INFO((store ? std::string() : store.error().message));
  REQUIRE(store);
  return std::move(*store);
}

LeafBatch batch_of(const std::vector<std::string>& leaves, std::size_t begin, std::size_t end) {
  LeafBatch batch;
  for (std::size_t i = begin; i < end; ++i) batch.add(leaves[i]);
  return batch;
}

std::vector<std::string> read_all(const SegmentStore& store) {
  std::vector<std::string> out;
  auto read = store.read(0, store.size(), [&](std::uint64_t index, std::string_view leaf) {
    REQUIRE(index == out.size());
    out.emplace_back(leaf);
    return true;
  });
  REQUIRE(read);
  return out;
}

const std::filesystem::path first_segment = "seg-0000000000000000.jsonl";

// Bytes of the file that lie in extents the file system has reserved but never written
// (fallocate's "unwritten" extents, FIEMAP_EXTENT_UNWRITTEN), as FIEMAP reports them.
std::uint64_t unwritten_bytes(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  constexpr unsigned slots = 256;
  auto* map = static_cast<fiemap*>(std::calloc(1, sizeof(fiemap) + slots * sizeof(fiemap_extent)));
  map->fm_start = 0;
  map->fm_length = FIEMAP_MAX_OFFSET;
  map->fm_flags = FIEMAP_FLAG_SYNC;
  map->fm_extent_count = slots;
  const int result = ::ioctl(fd, FS_IOC_FIEMAP, map);
  const int error = errno;
  ::close(fd);
  INFO("FIEMAP needs a file system that reports extents (ext4, xfs): errno " << error);
  REQUIRE(result == 0);
  std::uint64_t total = 0;
  for (unsigned i = 0; i < map->fm_mapped_extents; ++i) {
    if (map->fm_extents[i].fe_flags & FIEMAP_EXTENT_UNWRITTEN) total += map->fm_extents[i].fe_length;
  }
  std::free(map);
  return total;
}

} // namespace

TEST_CASE("appended entries are read back exactly and survive reopening") {
  TempDir dir;
  const auto leaves = chained_leaves(20);
  {
    auto store = open_store(dir);
    CHECK(store->size() == 0);
    REQUIRE(store->append(batch_of(leaves, 0, 5)));
    REQUIRE(store->append(batch_of(leaves, 5, 20)));
    CHECK(store->size() == 20);
    CHECK(read_all(*store) == leaves);
    CHECK(*store->read_leaf(7) == leaves[7]);
    CHECK(store->read_leaf(20).error().code == Errc::not_found);
  }
  std::vector<Hash> seen;
  auto reopened = SegmentStore::open(dir.path(), {}, [&](std::uint64_t index, std::string_view leaf, const Hash& hash) {
    CHECK(index == seen.size());
    CHECK(leaf == leaves[index]);
    seen.push_back(hash);
  });
  REQUIRE(reopened);
  CHECK((*reopened)->size() == 20);
  CHECK((*reopened)->truncated_bytes() == 0);
  CHECK((*reopened)->opened_last_leaf_hash() == leaf_hash(leaves[19]));
  CHECK(seen.size() == 20);
  CHECK(read_file(dir / first_segment.string()).size() ==
        [&] { std::size_t total = 0; for (const auto& l : leaves) total += l.size() + 1; return total; }());
}

TEST_CASE("a read visitor can stop early and ranges outside the store are refused") {
  TempDir dir;
  const auto leaves = chained_leaves(10);
  auto store = open_store(dir);
  REQUIRE(store->append(batch_of(leaves, 0, 10)));
  int visited = 0;
  REQUIRE(store->read(2, 9, [&](std::uint64_t index, std::string_view leaf) {
    CHECK(leaf == leaves[index]);
    return ++visited < 3;
  }));
  CHECK(visited == 3);
  CHECK(store->read(5, 11, [](std::uint64_t, std::string_view) { return true; }).error().code == Errc::invalid_argument);
  CHECK(store->read(6, 5, [](std::uint64_t, std::string_view) { return true; }).error().code == Errc::invalid_argument);
  CHECK(store->read(10, 10, [](std::uint64_t, std::string_view) { return true; }));
}

TEST_CASE("a second opener of the same directory is refused") {
  TempDir dir;
  auto store = open_store(dir);
  auto second = SegmentStore::open(dir.path());
  REQUIRE_FALSE(second);
  CHECK(second.error().code == Errc::unavailable);
}

TEST_CASE("a torn final line is truncated on reopen and the chain continues after it") {
  TempDir dir;
  const auto leaves = chained_leaves(8);
  {
    auto store = open_store(dir);
    REQUIRE(store->append(batch_of(leaves, 0, 5)));
  }
  const auto path = dir / first_segment.string();
  const std::size_t good_size = read_file(path).size();
  SECTION("half a line") { append_file(path, leaves[5].substr(0, leaves[5].size() / 2)); }
  SECTION("a whole line without its newline") { append_file(path, leaves[5]); }
  SECTION("a cut line followed by zero bytes") {
    append_file(path, leaves[5].substr(0, 30) + std::string(4096, '\0'));
  }
  SECTION("zeros, then the rest of a batch") {
    append_file(path, std::string(100, '\0') + leaves[5].substr(100) + "\n" + leaves[6] + "\n");
  }
  SECTION("garbage without a newline") { append_file(path, "#$%^garbage{{{"); }

  {
    auto store = open_store(dir);
    CHECK(store->size() == 5);
    CHECK(store->truncated_bytes() > 0);
    CHECK(read_file(path).size() == good_size);
    CHECK(store->opened_last_leaf_hash() == leaf_hash(leaves[4]));
    REQUIRE(store->append(batch_of(leaves, 5, 8)));
  }
  auto store = open_store(dir);
  CHECK(store->size() == 8);
  CHECK(store->truncated_bytes() == 0);
  CHECK(read_all(*store) == leaves);
}

TEST_CASE("the live segment is preallocated with written zeros, and cut back to its entries on close and rotation") {
  TempDir dir;
  const auto leaves = chained_leaves(40);
  const auto path = dir / first_segment.string();
  std::uint64_t entry_bytes = 0;
  {
    auto store = open_store(dir, SegmentStoreOptions{.segment_bytes = 1 << 20});
    REQUIRE(store->append(batch_of(leaves, 0, 5)));
    for (std::size_t i = 0; i < 5; ++i) entry_bytes += leaves[i].size() + 1;
    // The file system here supports fallocate: the file runs ahead of its entries, as zeros.
    const std::string live = read_file(path);
    CHECK(live.size() == entry_bytes + SegmentStore::preallocate_bytes);
    CHECK(live.find_first_not_of('\0', entry_bytes) == std::string::npos);
    // The zeros are written, not merely reserved, so that the next appends overwrite in place.
    CHECK(unwritten_bytes(path) == 0);
    CHECK(read_all(*store) == std::vector<std::string>(leaves.begin(), leaves.begin() + 5));
  }
  CHECK(read_file(path).size() == entry_bytes);
  {
    // A segment the store rotates away from keeps only its entries.
    auto store = open_store(dir, SegmentStoreOptions{.segment_bytes = entry_bytes + 10});
    CHECK(store->truncated_bytes() == 0);
    REQUIRE(store->append(batch_of(leaves, 5, 10)));
    CHECK(read_file(path).size() == entry_bytes);
  }
}

TEST_CASE("a large append reserves its preallocation without writing zeros") {
  TempDir dir;
  const auto leaves = chained_leaves(200, 400); // about 100 KB: over the 64 KiB of a small append
  const auto path = dir / first_segment.string();
  std::uint64_t entry_bytes = 0;
  for (const auto& leaf : leaves) entry_bytes += leaf.size() + 1;
  REQUIRE(entry_bytes > std::uint64_t{64} << 10);
  auto store = open_store(dir, SegmentStoreOptions{.segment_bytes = 8 << 20});
  REQUIRE(store->append(batch_of(leaves, 0, leaves.size())));
  const std::string live = read_file(path);
  CHECK(live.size() > entry_bytes);
  CHECK(live.find_first_not_of('\0', entry_bytes) == std::string::npos);
  // Reserved only: the blocks after the entries are fallocate's unwritten extents.
  CHECK(unwritten_bytes(path) > 0);
  CHECK(read_all(*store) == leaves);
}

TEST_CASE("a refused fallocate for a large append does not stop the zeros for small ones") {
  // A file system without fallocate: reserving alone fails, writing zeros works.
  cordon::testing::FaultyDisk disk;
  disk.no_fallocate = true;
  TempDir dir;
  const auto large = chained_leaves(200, 400);
  const auto path = dir / first_segment.string();
  auto store = open_store(dir, SegmentStoreOptions{.segment_bytes = 8 << 20, .disk = &disk});
  REQUIRE(store->append(batch_of(large, 0, 200)));
  const std::uint64_t entries = read_file(path).size(); // no space reserved past the entries
  // The next small append is past the end of the file: it gets written zeros ahead.
  const auto more = chained_leaves(201, 400);
  REQUIRE(store->append(batch_of(more, 200, 201)));
  CHECK(read_file(path).size() > entries + (more[200].size() + 1));
  CHECK(unwritten_bytes(path) == 0);
  CHECK(store->size() == 201);
}

TEST_CASE("unused preallocated space left by a crash is cut on open and not counted as torn") {
  TempDir dir;
  const auto leaves = chained_leaves(6);
  {
    auto store = open_store(dir);
    REQUIRE(store->append(batch_of(leaves, 0, 4)));
  }
  const auto path = dir / first_segment.string();
  const std::size_t good_size = read_file(path).size();
  append_file(path, std::string(1 << 20, '\0')); // what a SIGKILL leaves of the preallocation
  {
    auto store = open_store(dir);
    CHECK(store->size() == 4);
    CHECK(store->truncated_bytes() == 0);
    CHECK(read_file(path).size() == good_size);
    REQUIRE(store->append(batch_of(leaves, 4, 6)));
  }
  CHECK(read_all(*open_store(dir)) == leaves);
}

TEST_CASE("a complete line of garbage after the last entry is corruption, not a torn write") {
  TempDir dir;
  const auto leaves = chained_leaves(4);
  {
    auto store = open_store(dir);
    REQUIRE(store->append(batch_of(leaves, 0, 4)));
  }
  append_file(dir / first_segment.string(), "garbage\n");
  auto store = SegmentStore::open(dir.path());
  REQUIRE_FALSE(store);
  CHECK(store.error().code == Errc::integrity);
  CHECK_THAT(store.error().message, Catch::Contains("entry 4"));
}

TEST_CASE("a changed byte before the tail fails the open naming the first bad entry") {
  TempDir dir;
  const auto leaves = chained_leaves(10);
  {
    auto store = open_store(dir);
    REQUIRE(store->append(batch_of(leaves, 0, 10)));
  }
  const auto path = dir / first_segment.string();
  std::string bytes = read_file(path);
  std::size_t offset = 0;
  for (int i = 0; i < 3; ++i) offset += leaves[static_cast<std::size_t>(i)].size() + 1;

  SECTION("in the data of an entry") {
    const std::size_t at = bytes.find("\"pad\"", offset);
    bytes[at + 1] = 'P';
  }
  SECTION("so that the entry is no longer JSON") { bytes[offset + 1] = '!'; }
  SECTION("in the index of an entry") {
    const std::size_t at = bytes.find("\"index\":3", offset);
    bytes[at + 8] = '4';
  }
  write_file(path, bytes);
  auto store = SegmentStore::open(dir.path());
  REQUIRE_FALSE(store);
  CHECK(store.error().code == Errc::integrity);
  CHECK_THAT(store.error().message, Catch::Contains("corrupt at entry 3 "));
  CHECK(read_file(path) == bytes); // nothing is repaired or truncated
}

TEST_CASE("a removed entry fails the open") {
  TempDir dir;
  const auto leaves = chained_leaves(6);
  std::string bytes;
  for (std::size_t i = 0; i < leaves.size(); ++i) {
    if (i != 2) bytes += leaves[i] + "\n";
  }
  write_file(dir / first_segment.string(), bytes);
  auto store = SegmentStore::open(dir.path());
  REQUIRE_FALSE(store);
  CHECK(store.error().code == Errc::integrity);
  CHECK_THAT(store.error().message, Catch::Contains("corrupt at entry 2 "));
}

TEST_CASE("segments rotate at the configured size and are read across") {
  TempDir dir;
  const auto leaves = chained_leaves(30);
  const SegmentStoreOptions options{.segment_bytes = 1000};
  {
    auto store = open_store(dir, options);
    for (std::size_t i = 0; i < 30; i += 3) REQUIRE(store->append(batch_of(leaves, i, i + 3)));
    CHECK(read_all(*store) == leaves);
  }
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    const auto name = entry.path().filename().string();
    if (name.starts_with("seg-")) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  REQUIRE(names.size() > 3);
  CHECK(names[0] == "seg-0000000000000000.jsonl");
  CHECK(names[1] == "seg-0000000000000003.jsonl"); // each batch of three is ~700 bytes
  for (const auto& name : names) CHECK(std::filesystem::file_size(dir / name) <= 1000);

  auto store = open_store(dir, options);
  CHECK(store->size() == 30);
  CHECK(read_all(*store) == leaves);
  int count = 0;
  REQUIRE(store->read(2, 29, [&](std::uint64_t index, std::string_view leaf) {
    CHECK(leaf == leaves[index]);
    ++count;
    return true;
  }));
  CHECK(count == 27);
}

TEST_CASE("a missing or misnamed segment fails the open") {
  TempDir dir;
  const auto leaves = chained_leaves(12);
  {
    auto store = open_store(dir, {.segment_bytes = 800});
    for (std::size_t i = 0; i < 12; i += 3) REQUIRE(store->append(batch_of(leaves, i, i + 3)));
  }
  SECTION("missing") { std::filesystem::remove(dir / "seg-0000000000000003.jsonl"); }
  SECTION("misnamed") {
    std::filesystem::rename(dir / "seg-0000000000000003.jsonl", dir / "seg-0000000000000004.jsonl");
  }
  SECTION("a stray file") { write_file(dir / "seg-1.jsonl", ""); }
  auto store = SegmentStore::open(dir.path());
  REQUIRE_FALSE(store);
  CHECK(store.error().code == Errc::integrity);
}

TEST_CASE("a failed write leaves the store usable and nothing of the batch behind") {
  TempDir dir;
  cordon::testing::FaultyDisk disk;
  const auto leaves = chained_leaves(9);
  auto store = open_store(dir, {.disk = &disk});
  REQUIRE(store->append(batch_of(leaves, 0, 3)));
  const auto path = dir / first_segment.string();
  // The entries alone: the file also holds preallocated space until a failed write cuts it.
  const std::size_t durable = leaves[0].size() + leaves[1].size() + leaves[2].size() + 3;

  SECTION("disk full during the write") {
    disk.failing_writes = 1;
    auto failed = store->append(batch_of(leaves, 3, 6));
    REQUIRE_FALSE(failed);
    CHECK(failed.error().code == Errc::unavailable);
    CHECK(failed.error().message == "ledger write failed: No space left on device");
  }
  SECTION("I/O error in fdatasync") {
    disk.failing_syncs = 1;
    auto failed = store->append(batch_of(leaves, 3, 6));
    REQUIRE_FALSE(failed);
    CHECK(failed.error().code == Errc::unavailable);
    CHECK(failed.error().message == "ledger write failed: Input/output error");
  }
  CHECK(store->size() == 3);
  CHECK(read_file(path).size() == durable);

  REQUIRE(store->append(batch_of(leaves, 3, 9)));
  CHECK(read_all(*store) == leaves);
  store.reset();
  auto reopened = open_store(dir);
  CHECK(reopened->size() == 9);
  CHECK(reopened->truncated_bytes() == 0);
}

TEST_CASE("a store whose failed write cannot be undone refuses appends until reopened") {
  TempDir dir;
  cordon::testing::FaultyDisk disk;
  const auto leaves = chained_leaves(6);
  {
    auto store = open_store(dir, {.disk = &disk});
    REQUIRE(store->append(batch_of(leaves, 0, 3)));
    disk.failing_writes = 1;
    disk.failing_truncates = 1;
    auto failed = store->append(batch_of(leaves, 3, 6));
    REQUIRE_FALSE(failed);
    CHECK_THAT(failed.error().message, Catch::Contains("cutting the segment back also failed"));
    CHECK(store->append(batch_of(leaves, 3, 6)).error().code == Errc::unavailable);
    CHECK(store->size() == 3);
  }
  // The next open keeps the complete entries of the half-written batch (never acknowledged, but
  // valid and chained) and truncates the torn rest.
  auto store = open_store(dir);
  const std::uint64_t kept = store->size();
  CHECK(kept >= 3);
  CHECK(kept < 6);
  CHECK(store->truncated_bytes() > 0);
  REQUIRE(store->append(batch_of(leaves, kept, 6)));
  CHECK(read_all(*store) == leaves);
}

TEST_CASE("a failed write into a new segment keeps that segment for the next append") {
  TempDir dir;
  cordon::testing::FaultyDisk disk;
  const auto leaves = chained_leaves(6);
  auto store = open_store(dir, {.segment_bytes = 700, .disk = &disk});
  REQUIRE(store->append(batch_of(leaves, 0, 3)));
  disk.failing_writes = 1;
  REQUIRE_FALSE(store->append(batch_of(leaves, 3, 6)));
  CHECK(std::filesystem::file_size(dir / "seg-0000000000000003.jsonl") == 0);
  REQUIRE(store->append(batch_of(leaves, 3, 6)));
  store.reset();
  auto reopened = open_store(dir, {.segment_bytes = 700});
  CHECK(read_all(*reopened) == leaves);
}

TEST_CASE("an empty last segment left by a crash is accepted") {
  TempDir dir;
  const auto leaves = chained_leaves(3);
  {
    auto store = open_store(dir);
    REQUIRE(store->append(batch_of(leaves, 0, 3)));
  }
  write_file(dir / "seg-0000000000000003.jsonl", "");
  auto store = open_store(dir);
  CHECK(store->size() == 3);
  REQUIRE(store->append(batch_of(chained_leaves(4), 3, 4)));
  CHECK(store->size() == 4);
}

TEST_CASE("the disk's allocate extends a file with written zeros, and keeps what is before") {
  TempDir dir;
  const auto path = dir / "file";
  append_file(path, "kept");
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  REQUIRE(fd >= 0);
  // Larger than one piece of the zero buffer, and not a multiple of it.
  const std::uint64_t length = (std::uint64_t{1} << 20) + 12345;
  CHECK(system_disk().allocate(fd, 4, length, true) == 0);
  ::close(fd);
  const std::string content = read_file(path);
  CHECK(content.size() == 4 + length);
  CHECK(content.substr(0, 4) == "kept");
  CHECK(content.find_first_not_of('\0', 4) == std::string::npos);
  CHECK(unwritten_bytes(path) == 0);
}

#include <catch2/catch.hpp>

#include <cerrno>
#include <fstream>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/files.h"
#include "common/record_log.h"
#include "tests/support/faulty_disk.h"
#include "tests/support/temp_dir.h"

using namespace cordon;

namespace {

using Records = std::vector<std::string>;

Result<std::unique_ptr<RecordLog>> open_log(const std::filesystem::path& path, Records& replayed,
                                            RecordLogOptions options = {}) {
  replayed.clear();
  return RecordLog::open(path, [&](std::string_view payload) { replayed.emplace_back(payload); }, options);
}

Records records_after_reopen(const std::filesystem::path& path) {
  Records replayed;
  REQUIRE(open_log(path, replayed));
  return replayed;
}

// Writes a new log holding `records`; the offset where each starts, then where the next would.
std::vector<std::uint64_t> write_log(const std::filesystem::path& path, const Records& records) {
  Records replayed;
  auto log = open_log(path, replayed).value();
  std::vector<std::uint64_t> offsets{log->bytes()};
  for (const auto& record : records) {
    REQUIRE(log->append(record));
    offsets.push_back(log->bytes());
  }
  return offsets;
}

std::string file_bytes(const std::filesystem::path& path) { return read_file(path).value(); }

void write_bytes(const std::filesystem::path& path, std::string_view bytes, std::uint64_t offset) {
  const int fd = ::open(path.c_str(), O_WRONLY);
  REQUIRE(fd >= 0);
  REQUIRE(::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset)) == static_cast<ssize_t>(bytes.size()));
  ::close(fd);
}

} // namespace

TEST_CASE("a record log hands back every appended record, in order, after a reopen") {
  testing::TempDir dir("cordon-rl");
  const auto path = dir / "state.log";
  Records replayed;
  {
    auto log = open_log(path, replayed).value();
    CHECK(replayed.empty());
    for (int i = 0; i < 500; ++i) REQUIRE(log->append("record " + std::to_string(i)));
    REQUIRE(log->append(std::string(RecordLog::max_record_bytes, 'x'))); // the largest allowed
  }
  auto log = open_log(path, replayed).value();
  REQUIRE(replayed.size() == 501);
  CHECK(replayed[0] == "record 0");
  CHECK(replayed[499] == "record 499");
  CHECK(replayed[500] == std::string(RecordLog::max_record_bytes, 'x'));
  CHECK(log->recovered_bytes() == 0);
  struct stat status {};
  REQUIRE(::stat(path.c_str(), &status) == 0);
  CHECK((status.st_mode & 0777) == 0600);
}

TEST_CASE("a record log refuses empty and oversized records and changes nothing") {
  testing::TempDir dir("cordon-rl");
  Records replayed;
  auto log = open_log(dir / "state.log", replayed).value();
  REQUIRE(log->append("kept"));
  const auto before = log->bytes();
  CHECK(log->append("").error().code == Errc::invalid_argument);
  CHECK(log->append(std::string(RecordLog::max_record_bytes + 1, 'x')).error().code == Errc::too_large);
  CHECK(log->bytes() == before);
  log.reset();
  open_log(dir / "state.log", replayed).value();
  CHECK(replayed == Records{"kept"});
}

TEST_CASE("a torn last record is cleared at open and the log goes on before it") {
  testing::TempDir dir("cordon-rl");
  const auto path = dir / "state.log";
  Records replayed;
  const std::uint64_t torn_at = write_log(path, {"first", "second"}).back();
  SECTION("a record cut short") {
    const auto record = encode_log_record("third, never acknowledged");
    write_bytes(path, std::string_view(record).substr(0, record.size() - 5), torn_at);
  }
  SECTION("a whole record whose bytes changed") {
    auto record = encode_log_record("third, never acknowledged");
    record.back() ^= 1;
    write_bytes(path, record, torn_at);
  }
  SECTION("a length whose record would run past the file") {
    write_bytes(path, std::string("\xff\xff\x0f\x00", 4), torn_at);
  }
  auto log = open_log(path, replayed).value();
  CHECK(replayed == Records{"first", "second"});
  CHECK(log->recovered_bytes() > 0);
  CHECK(log->bytes() == torn_at);
  REQUIRE(log->append("third"));
  log.reset();
  CHECK(records_after_reopen(path) == Records{"first", "second", "third"});
}

TEST_CASE("a damaged record with records after it fails the open and names its offset") {
  testing::TempDir dir("cordon-rl");
  const auto path = dir / "state.log";
  Records replayed;
  const std::uint64_t second_at = write_log(path, {"first", "second", "third"})[1];
  const std::string before = file_bytes(path);
  write_bytes(path, "X", second_at + 14); // a byte of the second record's payload
  auto log = open_log(path, replayed);
  REQUIRE(!log);
  CHECK(log.error().code == Errc::integrity);
  CHECK(log.error().message.find("byte " + std::to_string(second_at)) != std::string::npos);
  // Nothing was cleared: the damage is left for an operator to see.
  CHECK(file_bytes(path).size() == before.size());
}

TEST_CASE("a file that is not a record log is refused and left alone") {
  testing::TempDir dir("cordon-rl");
  const auto path = dir / "state.log";
  REQUIRE(write_file_atomically(path, "SQLite format 3\0 and more"));
  Records replayed;
  auto log = open_log(path, replayed);
  REQUIRE(!log);
  CHECK(log.error().code == Errc::integrity);
  CHECK(file_bytes(path) == "SQLite format 3\0 and more");
}

TEST_CASE("a second opener of a record log is refused while the first has it") {
  testing::TempDir dir("cordon-rl");
  Records replayed;
  auto first = open_log(dir / "state.log", replayed).value();
  auto second = open_log(dir / "state.log", replayed);
  REQUIRE(!second);
  CHECK(second.error().code == Errc::unavailable);
}

TEST_CASE("a full or failing disk fails the append, keeps the log as it was, and appends resume") {
  testing::TempDir dir("cordon-rl");
  const auto path = dir / "state.log";
  testing::FaultyDisk disk;
  Records replayed;
  auto log = open_log(path, replayed, RecordLogOptions{.preallocate_bytes = 4096, .disk = &disk}).value();
  REQUIRE(log->append("before"));
  const auto end = log->bytes();

  SECTION("no space to reserve") {
    REQUIRE(log->append(std::string(3000, 'a'))); // uses up the first 4 KiB
    disk.failing_allocates = 1;
    auto refused = log->append(std::string(3000, 'b'));
    REQUIRE(!refused);
    CHECK(refused.error().code == Errc::unavailable);
    CHECK(refused.error().message.find("no space") != std::string::npos);
    REQUIRE(log->append("after"));
    log.reset();
    CHECK(records_after_reopen(path) == Records{"before", std::string(3000, 'a'), "after"});
  }
  SECTION("a write the disk cut short") {
    disk.failing_writes = 1;
    auto refused = log->append("lost in the write");
    REQUIRE(!refused);
    CHECK(refused.error().code == Errc::unavailable);
    CHECK(log->bytes() == end);
    REQUIRE(log->append("after"));
    log.reset();
    CHECK(records_after_reopen(path) == Records{"before", "after"});
  }
  SECTION("a sync that failed") {
    disk.failing_syncs = 1;
    auto refused = log->append("not acknowledged, and a longer record than the next");
    REQUIRE(!refused);
    CHECK(refused.error().code == Errc::unavailable);
    REQUIRE(log->append("after"));
    log.reset();
    auto reopened = open_log(path, replayed).value();
    CHECK(replayed == Records{"before", "after"});
    CHECK(reopened->recovered_bytes() == 0);
  }
  SECTION("a failed write that cannot be cleared again refuses appends until the reopen") {
    disk.failing_writes = 2; // the record's write, then the zeros meant to clear it
    REQUIRE(!log->append("lost"));
    auto refused = log->append("refused");
    REQUIRE(!refused);
    CHECK(refused.error().message.find("restart") != std::string::npos);
    log.reset();
    auto reopened = open_log(path, replayed).value();
    CHECK(replayed == Records{"before"});
    REQUIRE(reopened->append("after"));
  }
}

TEST_CASE("a rewrite replaces the records atomically and the log goes on after it") {
  testing::TempDir dir("cordon-rl");
  const auto path = dir / "state.log";
  Records replayed;
  auto log = open_log(path, replayed).value();
  for (int i = 0; i < 100; ++i) REQUIRE(log->append("old " + std::to_string(i)));
  const auto before = log->bytes();
  const Records live{"live 1", "live 2"};
  REQUIRE(log->rewrite(live));
  CHECK(log->bytes() < before);
  CHECK(!std::filesystem::exists(path.string() + ".new"));
  REQUIRE(log->append("after"));
  log.reset();
  CHECK(records_after_reopen(path) == Records{"live 1", "live 2", "after"});
}

TEST_CASE("a rewrite that fails keeps the old log, and a leftover from a crashed one is removed") {
  testing::TempDir dir("cordon-rl");
  const auto path = dir / "state.log";
  testing::FaultyDisk disk;
  Records replayed;
  auto log = open_log(path, replayed, RecordLogOptions{.disk = &disk}).value();
  REQUIRE(log->append("old"));
  disk.failing_syncs = 1;
  auto failed = log->rewrite(Records{"new"});
  REQUIRE(!failed);
  CHECK(failed.error().code == Errc::unavailable);
  CHECK(!std::filesystem::exists(path.string() + ".new"));
  REQUIRE(log->append("still appending"));
  log.reset();

  // A crash between writing the new file and renaming it leaves "<path>.new" behind.
  REQUIRE(write_file_atomically(path.string() + ".new", "half a rewrite"));
  open_log(path, replayed).value();
  CHECK(replayed == Records{"old", "still appending"});
  CHECK(!std::filesystem::exists(path.string() + ".new"));
}

TEST_CASE("appends overwrite zeros written ahead, not reserved-only space") {
  testing::TempDir dir("cordon-rl");
  const auto path = dir / "state.log";
  Records replayed;
  auto log = open_log(path, replayed, RecordLogOptions{.preallocate_bytes = 64 * 1024}).value();
  REQUIRE(log->append("one"));
  struct stat status {};
  REQUIRE(::stat(path.c_str(), &status) == 0);
  // The file was extended by the preallocation at once: the zeros are really there.
  CHECK(static_cast<std::uint64_t>(status.st_size) >= 64 * 1024);
  const auto bytes = file_bytes(path);
  CHECK(bytes.substr(log->bytes()).find_first_not_of('\0') == std::string::npos);
}

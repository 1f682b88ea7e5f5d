// Single-use nonces on a record log: spent once, still spent after a restart, forgotten an hour
// past their packet's expiry, unchanged by a spend the disk refused.
#include <catch2/catch.hpp>

#include <optional>

#include "common/clock.h"
#include "common/spent_nonces.h"
#include "tests/support/faulty_disk.h"
#include "tests/support/temp_dir.h"

using namespace cordon;
using std::chrono::minutes;
using std::chrono::seconds;

namespace {

const auto start = std::chrono::system_clock::time_point(seconds(1'900'000'000));

std::unique_ptr<SpentNonces> open_nonces(const std::filesystem::path& path, const Clock& clock,
                                         SpentNoncesOptions options = {}) {
  auto nonces = SpentNonces::open(path, clock, options);
  INFO((nonces ? "" : nonces.error().message));
  REQUIRE(nonces);
  return std::move(*nonces);
}

} // namespace

TEST_CASE("a nonce is spent once, and is still spent after a restart") {
  testing::TempDir dir("cordon-sn");
  ManualClock clock(start);
  {
    auto nonces = open_nonces(dir / "nonces.log", clock);
    REQUIRE(nonces->spend("n-1", start + minutes(2)));
    auto again = nonces->spend("n-1", start + minutes(2));
    REQUIRE(!again);
    CHECK(again.error().code == Errc::conflict);
    CHECK(again.error().message == "the decision packet was used before");
  }
  auto nonces = open_nonces(dir / "nonces.log", clock);
  CHECK(nonces->remembered() == 1);
  CHECK(nonces->spend("n-1", start + minutes(2)).error().code == Errc::conflict);
  CHECK(nonces->spend("n-2", start + minutes(2)));
}

TEST_CASE("a spend the disk refused leaves the nonce unspent, and spends resume once the disk works") {
  testing::TempDir dir("cordon-sn");
  ManualClock clock(start);
  testing::FaultyDisk disk;
  SpentNoncesOptions options;
  options.log.preallocate_bytes = 512;
  options.log.disk = &disk;
  auto nonces = open_nonces(dir / "nonces.log", clock, options);
  disk.failing_syncs = 1;
  auto refused = nonces->spend("n-1", start + minutes(2));
  REQUIRE(!refused);
  CHECK(refused.error().code == Errc::unavailable);
  CHECK(nonces->remembered() == 0);

  disk.no_new_space = true;
  std::optional<Error> full;
  int tried = 0;
  while (tried < 50 && !full) {
    auto spent = nonces->spend("m-" + std::to_string(tried++), start + minutes(2));
    if (!spent) full = spent.error();
  }
  REQUIRE(full);
  CHECK(full->code == Errc::unavailable);
  CHECK(nonces->remembered() == static_cast<std::size_t>(tried - 1));

  disk.no_new_space = false;
  REQUIRE(nonces->spend("n-1", start + minutes(2)));
  REQUIRE(nonces->spend("m-" + std::to_string(tried - 1), start + minutes(2)));
  nonces.reset();
  auto reopened = open_nonces(dir / "nonces.log", clock);
  CHECK(reopened->remembered() == static_cast<std::size_t>(tried + 1));
  CHECK(reopened->spend("n-1", start + minutes(2)).error().code == Errc::conflict);
}

TEST_CASE("spent nonces are forgotten an hour after their expiry, and the log is compacted to what is remembered") {
  testing::TempDir dir("cordon-sn");
  ManualClock clock(start);
  SpentNoncesOptions options;
  options.rewrite_after_bytes = 16 * 1024;
  auto nonces = open_nonces(dir / "nonces.log", clock, options);
  for (int i = 0; i < 400; ++i) REQUIRE(nonces->spend("old-" + std::to_string(i), start + minutes(2)));
  const auto before = nonces->log_bytes();

  clock.advance(minutes(2) + seconds(3600) - seconds(1));
  CHECK(nonces->spend("old-0", start + minutes(2)).error().code == Errc::conflict); // not yet forgotten
  clock.advance(seconds(2));
  for (int i = 0; i < 300; ++i) REQUIRE(nonces->spend("new-" + std::to_string(i), clock.now() + minutes(2)));
  CHECK(nonces->remembered() == 300);
  CHECK(nonces->log_bytes() < before); // 700 records without the rewrite
  nonces.reset();

  auto reopened = open_nonces(dir / "nonces.log", clock, options);
  CHECK(reopened->remembered() == 300);
  CHECK(reopened->spend("new-299", clock.now() + minutes(2)).error().code == Errc::conflict);
  CHECK(reopened->spend("old-1", start + minutes(2))); // forgotten: its packet expired long ago
}

TEST_CASE("an import skips nonces already spent, so it can run again after a crash") {
  testing::TempDir dir("cordon-sn");
  ManualClock clock(start);
  auto nonces = open_nonces(dir / "nonces.log", clock);
  REQUIRE(nonces->spend("n-1", start + minutes(2)));
  const std::vector<std::pair<std::string, std::chrono::system_clock::time_point>> older{{"n-1", start + minutes(2)},
                                                                                         {"n-2", start + minutes(2)}};
  REQUIRE(nonces->import(older));
  REQUIRE(nonces->import(older));
  CHECK(nonces->remembered() == 2);
  const auto bytes = nonces->log_bytes();
  REQUIRE(nonces->import(older));
  CHECK(nonces->log_bytes() == bytes); // nothing appended for what is already there
  CHECK(nonces->spend("n-2", start + minutes(2)).error().code == Errc::conflict);
}

TEST_CASE("a log whose records are not spent nonces is refused at open, naming the file") {
  testing::TempDir dir("cordon-sn");
  ManualClock clock(start);
  for (const char* record : {R"({"neither":1})", R"({"nonce":"n-1"})", R"({"nonce":"n-1","forget_after":"soon"})",
                             R"({"nonce":"n-1","forget_after":1,"lease":{}})", "[1]"}) {
    INFO(record);
    std::filesystem::remove(dir / "nonces.log");
    {
      auto log = RecordLog::open(dir / "nonces.log", [](std::string_view) {}).value();
      REQUIRE(log->append(record));
    }
    auto nonces = SpentNonces::open(dir / "nonces.log", clock);
    REQUIRE(!nonces);
    CHECK(nonces.error().code == Errc::integrity);
    CHECK(nonces.error().message.find("nonces.log") != std::string::npos);
  }
}

// The lease book: single-use nonces and open leases that survive a restart, on a record log.
#include <catch2/catch.hpp>

#include <cerrno>
#include <optional>

#include "common/clock.h"
#include "common/files.h"
#include "secretsd/vault/lease_book.h"
#include "tests/support/faulty_disk.h"
#include "tests/support/temp_dir.h"

using namespace cordon;
using cordon::secretsd::Lease;
using cordon::secretsd::LeaseBook;
using cordon::secretsd::LeaseBookOptions;
using std::chrono::minutes;
using std::chrono::seconds;

namespace {

const auto start = std::chrono::system_clock::time_point(seconds(1'900'000'000));

Lease lease(std::string id, std::chrono::system_clock::time_point expires_at) {
  return Lease{std::move(id), "acme/token", 3, "d-" + std::to_string(expires_at.time_since_epoch().count() % 1000), "r-1",
               expires_at};
}

std::unique_ptr<LeaseBook> open_book(const std::filesystem::path& path, const Clock& clock,
                                     LeaseBookOptions options = {}) {
  auto book = LeaseBook::open(path, clock, options);
  INFO((book ? "" : book.error().message));
  REQUIRE(book);
  return std::move(*book);
}

} // namespace

TEST_CASE("a spent nonce is refused a second time, also after a restart") {
  testing::TempDir dir("cordon-lb");
  ManualClock clock(start);
  {
    auto book = open_book(dir / "leases.log", clock);
    REQUIRE(book->spend_nonce("n-1", start + minutes(2)));
    CHECK(book->spend_nonce("n-1", start + minutes(2)).error().code == Errc::conflict);
  }
  auto book = open_book(dir / "leases.log", clock);
  CHECK(book->spend_nonce("n-1", start + minutes(2)).error().code == Errc::conflict);
  CHECK(book->spend_nonce_and_open("n-1", start + minutes(2), lease("l-1", start + seconds(60))).error().code ==
        Errc::conflict);
  CHECK(book->open_leases() == 0);
  CHECK(book->spend_nonce("n-2", start + minutes(2)));
}

TEST_CASE("a lease opened with its nonce is still open after a restart, and expires in order") {
  testing::TempDir dir("cordon-lb");
  ManualClock clock(start);
  {
    auto book = open_book(dir / "leases.log", clock);
    REQUIRE(book->spend_nonce_and_open("n-1", start + minutes(2), lease("l-late", start + seconds(50))));
    REQUIRE(book->spend_nonce_and_open("n-2", start + minutes(2), lease("l-early", start + seconds(10))));
    REQUIRE(book->spend_nonce_and_open("n-3", start + minutes(2), lease("l-closed", start + seconds(5))));
    REQUIRE(book->close("l-closed"));
    CHECK(book->close("l-closed").error().code == Errc::not_found);
  }
  auto book = open_book(dir / "leases.log", clock);
  CHECK(book->open_leases() == 2);
  CHECK(book->remembered_nonces() == 3);
  CHECK(book->expired(start + seconds(9)).empty());
  const auto due = book->expired(start + seconds(60));
  REQUIRE(due.size() == 2);
  CHECK(due[0].id == "l-early");
  CHECK(due[1].id == "l-late");
  CHECK(due[1].secret == "acme/token");
  CHECK(due[1].version == 3);
  CHECK(due[1].expires_at == start + seconds(50));
  const auto closed = book->close("l-early");
  REQUIRE(closed);
  CHECK(closed->run_id == "r-1");
  CHECK(book->expired(start + seconds(60)).size() == 1);
}

TEST_CASE("a spend the disk refused changes nothing, and spends resume once the disk has room") {
  testing::TempDir dir("cordon-lb");
  ManualClock clock(start);
  testing::FaultyDisk disk;
  LeaseBookOptions options;
  options.log.preallocate_bytes = 512;
  options.log.disk = &disk;
  auto book = open_book(dir / "leases.log", clock, options);
  disk.no_new_space = true;
  // Spends fill the space reserved before; the first that needs more is refused.
  std::optional<Error> refusal;
  int tried = 0;
  while (tried < 50 && !refusal) {
    const auto n = std::to_string(tried++);
    auto spent = book->spend_nonce_and_open("n-" + n, start + minutes(2), lease("l-" + n, start + seconds(60)));
    if (!spent) refusal = spent.error();
  }
  REQUIRE(refusal);
  CHECK(refusal->code == Errc::unavailable);
  CHECK(refusal->message.find("no space") != std::string::npos);
  const auto last = std::to_string(tried - 1);
  CHECK(book->open_leases() == static_cast<std::size_t>(tried - 1));
  CHECK(book->close("l-" + last).error().code == Errc::not_found);

  disk.no_new_space = false;
  REQUIRE(book->spend_nonce_and_open("n-" + last, start + minutes(2), lease("l-" + last, start + seconds(60))));
  book.reset();
  auto reopened = open_book(dir / "leases.log", clock);
  CHECK(reopened->open_leases() == static_cast<std::size_t>(tried));
  CHECK(reopened->spend_nonce("n-" + last, start + minutes(2)).error().code == Errc::conflict);
}

TEST_CASE("nonces are forgotten an hour after their packet's expiry, and the log is compacted to what is live") {
  testing::TempDir dir("cordon-lb");
  ManualClock clock(start);
  LeaseBookOptions options;
  options.rewrite_after_bytes = 16 * 1024;
  auto book = open_book(dir / "leases.log", clock, options);
  REQUIRE(book->spend_nonce_and_open("n-kept", start + minutes(2), lease("l-kept", start + seconds(60))));
  for (int i = 0; i < 400; ++i) REQUIRE(book->spend_nonce("old-" + std::to_string(i), start + minutes(2)));
  CHECK(book->remembered_nonces() == 401);
  const auto before = book->log_bytes();

  clock.advance(minutes(2) + seconds(3600) + seconds(1));
  REQUIRE(book->spend_nonce("new-0", clock.now() + minutes(2)));
  CHECK(book->remembered_nonces() == 1);
  // Enough new records to pass the rewrite threshold: the log shrinks to the live state.
  for (int i = 1; i < 300; ++i) REQUIRE(book->spend_nonce("new-" + std::to_string(i), clock.now() + minutes(2)));
  // Without the rewrite the log would hold all 701 records; the forgotten 401 are gone from it.
  CHECK(book->log_bytes() < before);
  CHECK(book->open_leases() == 1);
  book.reset();

  auto reopened = open_book(dir / "leases.log", clock, options);
  CHECK(reopened->remembered_nonces() == 300);
  CHECK(reopened->open_leases() == 1);
  CHECK(reopened->spend_nonce("new-7", clock.now() + minutes(2)).error().code == Errc::conflict);
  CHECK(reopened->close("l-kept"));
}

TEST_CASE("an import of an older vault's state skips what is already there") {
  testing::TempDir dir("cordon-lb");
  ManualClock clock(start);
  auto book = open_book(dir / "leases.log", clock);
  REQUIRE(book->spend_nonce("n-1", start + minutes(2)));
  const std::vector<std::pair<std::string, std::chrono::system_clock::time_point>> nonces{
      {"n-1", start + minutes(2)}, {"n-2", start + minutes(2)}};
  const std::vector<Lease> leases{lease("l-1", start + seconds(30))};
  REQUIRE(book->import(nonces, leases));
  REQUIRE(book->import(nonces, leases)); // again, as after a crash before the tables were dropped
  CHECK(book->remembered_nonces() == 2);
  CHECK(book->open_leases() == 1);
  CHECK(book->spend_nonce("n-2", start + minutes(2)).error().code == Errc::conflict);
}

TEST_CASE("close_all forgets every lease but no spent nonce") {
  testing::TempDir dir("cordon-lb");
  ManualClock clock(start);
  {
    auto book = open_book(dir / "leases.log", clock);
    REQUIRE(book->spend_nonce_and_open("n-1", start + minutes(2), lease("l-1", start + seconds(60))));
    REQUIRE(book->close_all());
    CHECK(book->open_leases() == 0);
  }
  auto book = open_book(dir / "leases.log", clock);
  CHECK(book->open_leases() == 0);
  CHECK(book->spend_nonce("n-1", start + minutes(2)).error().code == Errc::conflict);
}

TEST_CASE("a lease log whose records are not the book's is refused at open") {
  testing::TempDir dir("cordon-lb");
  ManualClock clock(start);
  {
    auto log = RecordLog::open(dir / "leases.log", [](std::string_view) {}).value();
    REQUIRE(log->append(R"({"neither":1})"));
  }
  auto book = LeaseBook::open(dir / "leases.log", clock);
  REQUIRE(!book);
  CHECK(book.error().code == Errc::integrity);
  CHECK(book.error().message.find("leases.log") != std::string::npos);
}

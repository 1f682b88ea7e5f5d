// SQLite checkpoints on a thread of their own: the log is copied back and reused, nothing
// committed is lost, and the checkpointer stops with its connection.
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <thread>

#include <sqlite3.h>

#include "common/sqlite/sqlite.h"
#include "common/sqlite/wal_checkpointer.h"
#include "tests/support/temp_dir.h"

using namespace cordon;

namespace {

// Commits `count` rows of 1 KiB, one transaction each.
void insert_rows(Sqlite& db, int first, int count) {
  const std::string blob(1024, 'x');
  for (int i = first; i < first + count; ++i) {
    auto insert = db.prepare("INSERT INTO rows (id, body) VALUES (?, ?)").value();
    REQUIRE(insert.bind(1, std::int64_t{i}).bind(2, blob).run());
  }
}

std::int64_t row_count(Sqlite& db) {
  auto count = db.prepare("SELECT count(*) FROM rows").value();
  REQUIRE(count.step().value());
  return count.integer(0);
}

} // namespace

TEST_CASE("background checkpoints copy the log back, so it is reused instead of growing, and lose nothing") {
  testing::TempDir dir("cordon-wal");
  const auto path = dir / "store.db";
  const auto wal = dir / "store.db-wal";
  {
    auto db = Sqlite::open(path, SqliteOptions{.background_checkpoints = true}).value();
    REQUIRE(db->execute("PRAGMA synchronous=OFF")); // the test is about checkpoints, not syncs
    REQUIRE(db->execute("CREATE TABLE rows (id INTEGER PRIMARY KEY, body TEXT NOT NULL)"));
    // Commits in bursts with pauses, as requests come: about 16 MB of pages in all, four times
    // the 1,000-page threshold.
    for (int burst = 0; burst < 40; ++burst) {
      insert_rows(*db, burst * 100, 100);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    CHECK(db->background_checkpoints() >= 3);
    // Without checkpoints the log would hold every page written; with them it is rewound once
    // copied, and stays near the threshold.
    CHECK(std::filesystem::file_size(wal) < std::uintmax_t{8} << 20);
    CHECK(row_count(*db) == 4000);
  }
  auto reopened = Sqlite::open(path).value();
  CHECK(row_count(*reopened) == 4000);
  CHECK(reopened->background_checkpoints() == 0);
}

TEST_CASE("commits without a pause still keep the log bounded") {
  testing::TempDir dir("cordon-wal");
  auto db = Sqlite::open(dir / "store.db", SqliteOptions{.background_checkpoints = true}).value();
  REQUIRE(db->execute("PRAGMA synchronous=OFF"));
  REQUIRE(db->execute("CREATE TABLE rows (id INTEGER PRIMARY KEY, body TEXT NOT NULL)"));
  insert_rows(*db, 0, 12000); // about 100 MB of log if nothing were checkpointed
  // The commit that finds eight times the threshold waits for the thread's checkpoint and then
  // copies every frame itself, so the next commit rewinds the log: it never holds many more
  // than 8,000 frames of a 4 KiB page and a 24-byte header each. (A commit that checkpointed
  // beside the thread, refused as busy, let it grow past 60 MB.)
  constexpr std::uintmax_t frame_bytes = 4096 + 24;
  CHECK(std::filesystem::file_size(dir / "store.db-wal") < (8 * 1000 + 256) * frame_bytes);
  CHECK(row_count(*db) == 12000);
}

TEST_CASE("when the thread cannot keep up, commits checkpoint themselves and the log stays bounded") {
  testing::TempDir dir("cordon-wal");
  // The checkpointer's own connection is pointed at another database, so its checkpoints never
  // reach this one's log: only the commits' own fallback can.
  { auto other = Sqlite::open(dir / "other.db").value(); }
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open((dir / "store.db").c_str(), &db) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF; "
                           "CREATE TABLE rows (id INTEGER PRIMARY KEY, body TEXT NOT NULL)", nullptr, nullptr, nullptr) == SQLITE_OK);
  {
    auto checkpointer = WalCheckpointer::start(db, dir / "other.db", 100).value();
    const std::string insert = "INSERT INTO rows (body) VALUES ('" + std::string(1024, 'x') + "')";
    for (int i = 0; i < 3000; ++i) REQUIRE(sqlite3_exec(db, insert.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
    CHECK(checkpointer->completed() > 0); // of the other database, which has nothing to copy
  }
  // 3,000 commits of about two pages: some 24 MB of log unbounded; eight times the threshold
  // of 100 pages is 3.2 MB.
  CHECK(std::filesystem::file_size(dir / "store.db-wal") < std::uintmax_t{4} << 20);
  sqlite3_close(db);
}

TEST_CASE("a store without background checkpoints keeps SQLite's own") {
  testing::TempDir dir("cordon-wal");
  auto db = Sqlite::open(dir / "store.db").value();
  REQUIRE(db->execute("PRAGMA synchronous=OFF"));
  REQUIRE(db->execute("CREATE TABLE rows (id INTEGER PRIMARY KEY, body TEXT NOT NULL)"));
  insert_rows(*db, 0, 3000);
  CHECK(db->background_checkpoints() == 0);
  CHECK(std::filesystem::file_size(dir / "store.db-wal") < std::uintmax_t{6} << 20); // checkpointed inline
  CHECK(row_count(*db) == 3000);
}

// Two-phase deletes (DESIGN.md §6.4) on real files and a real SQLite queue: soft at once,
// reinstate inside the window, hard after it (only once recorded), and across restarts.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "agentd/tools/fs_tools.h"
#include "agentd/tools/two_phase.h"
#include "common/sqlite/sqlite.h"
#include "tests/support/temp_dir.h"

using namespace cordon;
using namespace cordon::agentd;
using namespace std::chrono_literals;

namespace {

struct Fixture {
  testing::TempDir dir{"cordon-2p"};
  std::filesystem::path root = dir.path() / "workspace";
  ManualClock clock{parse_rfc3339("2026-12-02T10:00:00Z").value()};
  std::unique_ptr<Workspace> workspace;
  Fixture() {
    std::filesystem::create_directories(root / "docs");
    std::ofstream(root / "docs/old.txt") << "keep me?";
    workspace = std::move(*Workspace::open(root));
  }
  std::unique_ptr<TwoPhaseDeletes> open() {
    auto deletes = TwoPhaseDeletes::open(dir.path() / "pending.db", *workspace, 300s, clock);
    INFO((deletes ? std::string() : deletes.error().message));
    REQUIRE(deletes);
    return std::move(*deletes);
  }
  std::string content(const std::filesystem::path& path) const {
    std::ifstream in(path);
    return std::string((std::istreambuf_iterator<char>(in)), {});
  }
};

Result<void> recorded(const PendingDelete&) { return ok(); }

} // namespace

TEST_CASE("the soft phase moves the file aside at once and reinstating inside the window restores it") {
  Fixture f;
  auto deletes = f.open();
  auto pending = deletes->soft_delete("docs/old.txt", "r-1");
  REQUIRE(pending);
  CHECK_FALSE(std::filesystem::exists(f.root / "docs/old.txt"));
  CHECK(std::filesystem::exists(f.root / ".cordon-trash" / pending->id));
  CHECK(pending->due_at == "2026-12-02T10:05:00.000000Z");

  f.clock.advance(299s);
  CHECK(*deletes->complete_due(recorded) == 0); // not due yet
  auto back = deletes->reinstate(pending->id);
  REQUIRE(back);
  CHECK(back->state == "reinstated");
  CHECK(f.content(f.root / "docs/old.txt") == "keep me?");
  CHECK(deletes->reinstate(pending->id).error().code == Errc::conflict);
  f.clock.advance(10s);
  CHECK(*deletes->complete_due(recorded) == 0); // a reinstated file is never hard-deleted
  CHECK(std::filesystem::exists(f.root / "docs/old.txt"));
}

TEST_CASE("after the window the hard phase removes the file, only once it is recorded") {
  Fixture f;
  auto deletes = f.open();
  auto pending = *deletes->soft_delete("docs/old.txt", "r-1");
  f.clock.advance(301s);
  CHECK(deletes->reinstate(pending.id).error().code == Errc::conflict); // the window closed

  int attempts = 0;
  const auto refusing = [&](const PendingDelete&) -> Result<void> {
    ++attempts;
    return fail(Errc::unavailable, "auditd is down");
  };
  CHECK(*deletes->complete_due(refusing) == 0);
  CHECK(attempts == 1);
  CHECK(std::filesystem::exists(f.root / ".cordon-trash" / pending.id)); // nothing silent
  CHECK(deletes->list()->front().state == "pending");

  std::string seen_path;
  CHECK(*deletes->complete_due([&](const PendingDelete& due) -> Result<void> {
    seen_path = due.path;
    return ok();
  }) == 1);
  CHECK(seen_path == "docs/old.txt");
  CHECK_FALSE(std::filesystem::exists(f.root / ".cordon-trash" / pending.id));
  CHECK(deletes->list()->front().state == "done");
  CHECK(deletes->reinstate(pending.id).error().code == Errc::conflict);
}

TEST_CASE("a pending hard phase survives a restart") {
  Fixture f;
  std::string id;
  {
    auto deletes = f.open();
    id = deletes->soft_delete("docs/old.txt", "r-1")->id;
  }
  f.clock.advance(400s);
  auto reopened = f.open();
  REQUIRE(reopened->list()->size() == 1);
  CHECK(reopened->list()->front().id == id);
  CHECK(reopened->list()->front().state == "pending");
  CHECK(*reopened->complete_due(recorded) == 1);
  CHECK_FALSE(std::filesystem::exists(f.root / ".cordon-trash" / id));
}

TEST_CASE("a delete interrupted between its record and its move is settled at start-up") {
  Fixture f;
  { auto deletes = f.open(); }
  // As a crash leaves them: one row whose file reached the trash, one whose file never left.
  std::ofstream(f.root / ".cordon-trash/p-moved") << "moved";
  {
    auto db = std::move(*Sqlite::open(f.dir.path() / "pending.db"));
    REQUIRE(db->execute("INSERT INTO pending_deletes VALUES ('p-moved', 'r-1', 'a.txt', 0, 'x', 'moving'),"
                        " ('p-unmoved', 'r-1', 'docs/old.txt', 0, 'x', 'moving')"));
  }
  auto deletes = f.open();
  const auto list = *deletes->list();
  REQUIRE(list.size() == 1);
  CHECK(list.front().id == "p-moved");
  CHECK(list.front().state == "pending");
  CHECK(std::filesystem::exists(f.root / "docs/old.txt"));
}

TEST_CASE("reinstating never replaces a file written since, and only regular files are deleted") {
  Fixture f;
  auto deletes = f.open();
  auto pending = *deletes->soft_delete("docs/old.txt", "r-1");
  std::ofstream(f.root / "docs/old.txt") << "new content";
  CHECK(deletes->reinstate(pending.id).error().code == Errc::conflict);
  CHECK(f.content(f.root / "docs/old.txt") == "new content");
  CHECK(deletes->list()->front().state == "pending");

  CHECK(deletes->soft_delete("docs", "r-1").error().code == Errc::invalid_argument);
  CHECK(deletes->soft_delete("missing.txt", "r-1").error().code == Errc::not_found);
  CHECK_FALSE(deletes->soft_delete(".cordon-trash/" + pending.id, "r-1"));
  CHECK(deletes->reinstate("p-unknown").error().code == Errc::not_found);
}

TEST_CASE("fs.delete answers the pending id and the hard phase's time, and its dry run moves nothing") {
  Fixture f;
  auto deletes = f.open();
  auto tool = make_fs_delete(*f.workspace, *deletes);
  auto dry = tool->simulate({{"path", "docs/old.txt"}}, "r-1");
  REQUIRE(dry);
  CHECK(dry->structured["exists"] == true);
  CHECK(std::filesystem::exists(f.root / "docs/old.txt"));
  auto done = tool->run({{"path", "docs/old.txt"}}, "r-1");
  REQUIRE(done);
  CHECK(done->structured["pending_id"].get<std::string>().starts_with("p-"));
  CHECK(done->structured["hard_phase_at"] == "2026-12-02T10:05:00.000000Z");
  CHECK_FALSE(std::filesystem::exists(f.root / "docs/old.txt"));
}

#include <catch2/catch.hpp>

#include <fcntl.h>

#include <filesystem>
#include <fstream>

#include "agentd/tools/fs_tools.h"
#include "agentd/tools/workspace.h"
#include "tests/support/temp_dir.h"

using namespace cordon;
using namespace cordon::agentd;

namespace {

struct Fixture {
  testing::TempDir dir{"cordon-ws"};
  std::filesystem::path root = dir.path() / "workspace";
  std::unique_ptr<Workspace> workspace;
  Fixture() {
    std::filesystem::create_directories(root);
    std::ofstream(dir.path() / "outside.txt") << "outside";
    workspace = std::move(*Workspace::open(root));
  }
};

} // namespace

TEST_CASE("paths are relative, without dot components or agentd's own names") {
  CHECK(Workspace::check_path("notes.txt"));
  CHECK(Workspace::check_path("a/b/c.txt"));
  for (const char* bad : {"", "/etc/passwd", "../x", "a/../b", "./a", "a//b", "a/", ".cordon-trash/x", ".cordon"}) {
    INFO(bad);
    CHECK_FALSE(Workspace::check_path(bad));
  }
  CHECK_FALSE(Workspace::check_path(std::string("a\0b", 3)));
  CHECK_FALSE(Workspace::check_path(std::string(4097, 'a')));
  CHECK(Workspace::check_path("docs/.cordon-ok")); // only the top level is reserved
}

TEST_CASE("symbolic links are refused, inside or pointing outside") {
  Fixture f;
  std::filesystem::create_symlink(f.dir.path() / "outside.txt", f.root / "escape");
  std::ofstream(f.root / "real.txt") << "in";
  std::filesystem::create_symlink("real.txt", f.root / "inner");
  std::filesystem::create_directories(f.root / "sub");
  std::filesystem::create_directory_symlink(f.dir.path(), f.root / "sub/up");
  CHECK(f.workspace->open_file("real.txt", O_RDONLY));
  CHECK(f.workspace->open_file("escape", O_RDONLY).error().code == Errc::permission_denied);
  CHECK(f.workspace->open_file("inner", O_RDONLY).error().code == Errc::permission_denied);
  CHECK(f.workspace->open_file("sub/up/outside.txt", O_RDONLY).error().code == Errc::permission_denied);
  CHECK(f.workspace->open_file("missing.txt", O_RDONLY).error().code == Errc::not_found);
}

TEST_CASE("fs.write creates directories, replaces atomically and reports a dry run without writing") {
  Fixture f;
  auto write = make_fs_write(*f.workspace);
  auto dry = write->simulate({{"path", "out/a.txt"}, {"content", "hello"}}, "r-1");
  REQUIRE(dry);
  CHECK(dry->structured["replaced"] == false);
  CHECK(dry->structured["dry_run"] == true);
  CHECK_FALSE(std::filesystem::exists(f.root / "out"));

  auto created = write->run({{"path", "out/a.txt"}, {"content", "hello"}}, "r-1");
  REQUIRE(created);
  CHECK(created->structured["replaced"] == false);
  auto replaced = write->run({{"path", "out/a.txt"}, {"content", "bye"}}, "r-1");
  REQUIRE(replaced);
  CHECK(replaced->structured["replaced"] == true);
  std::ifstream in(f.root / "out/a.txt");
  std::string content((std::istreambuf_iterator<char>(in)), {});
  CHECK(content == "bye");
  CHECK(replaced->audit["sha256"].get<std::string>().size() == 64);
  // No temporary file is left behind.
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(f.root / "out")) ++entries;
  CHECK(entries == 1);

  // Through a symbolic link to a directory outside: refused, and nothing is written there.
  std::filesystem::create_directory_symlink(f.dir.path(), f.root / "up");
  CHECK_FALSE(write->run({{"path", "up/planted.txt"}, {"content", "x"}}, "r-1"));
  CHECK_FALSE(std::filesystem::exists(f.dir.path() / "planted.txt"));
}

TEST_CASE("fs.read returns UTF-8 text, cut at max_bytes on a character boundary, as untrusted") {
  Fixture f;
  std::ofstream(f.root / "t.txt") << "h\xC3\xA9llo"; // "héllo": é is two bytes
  std::ofstream(f.root / "bin.dat") << std::string("\xff\xfe\x00", 3);
  auto read = make_fs_read(*f.workspace);
  auto whole = read->run({{"path", "t.txt"}}, "r-1");
  REQUIRE(whole);
  CHECK(whole->text == "h\xC3\xA9llo");
  CHECK(whole->untrusted);
  auto cut = read->run({{"path", "t.txt"}, {"max_bytes", 2}}, "r-1");
  REQUIRE(cut);
  CHECK(cut->text == "h"); // the half of é is dropped
  CHECK(cut->structured["truncated"] == true);
  CHECK(read->run({{"path", "bin.dat"}}, "r-1").error().code == Errc::invalid_argument);
  std::filesystem::create_directories(f.root / "dir");
  CHECK_FALSE(read->run({{"path", "dir"}}, "r-1"));
}

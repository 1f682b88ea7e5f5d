// C2SP tlog-tiles paths (https://c2sp.org/tlog-tiles): each tile has exactly one URL, and
// anything else is not a tile.
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>

#include "auditd/tile_path.h"

using namespace cordon;
using namespace cordon::auditd;

namespace {

TilePath parsed(const std::string& path) {
  INFO(path);
  auto tile = parse_tile_path(path);
  INFO((tile ? std::string() : tile.error().message));
  REQUIRE(tile);
  return *tile;
}

TilePath hash_tile(unsigned level, std::uint64_t index, unsigned width = 256) {
  return TilePath{false, level, index, width};
}

TilePath entry_bundle(std::uint64_t index, unsigned width = 256) { return TilePath{true, 0, index, width}; }

void require_not_a_tile(const std::string& path) {
  INFO("path: " << path);
  auto tile = parse_tile_path(path);
  REQUIRE_FALSE(tile);
  CHECK(tile.error().code == Errc::not_found);
}

} // namespace

TEST_CASE("hash tile paths carry the level and a three-digit index") {
  CHECK(parsed("/tile/0/000") == hash_tile(0, 0));
  CHECK(parsed("/tile/0/001") == hash_tile(0, 1));
  CHECK(parsed("/tile/0/999") == hash_tile(0, 999));
  CHECK(parsed("/tile/1/067") == hash_tile(1, 67));
  CHECK(parsed("/tile/63/000") == hash_tile(63, 0));
}

TEST_CASE("indexes of 1000 and more are written in x-prefixed groups of three digits") {
  CHECK(parsed("/tile/0/x001/000") == hash_tile(0, 1000));
  CHECK(parsed("/tile/0/x001/x234/067") == hash_tile(0, 1234067));
  CHECK(parsed("/tile/2/x999/999") == hash_tile(2, 999999));
  // Zero groups after the first are ordinary digits.
  CHECK(parsed("/tile/0/x001/x000/000") == hash_tile(0, 1000000));
  CHECK(parsed("/tile/entries/x005/x000/x000/001") == entry_bundle(5000000001));
}

TEST_CASE("the largest 64-bit index parses and one more is refused") {
  CHECK(parsed("/tile/0/x018/x446/x744/x073/x709/x551/615") == hash_tile(0, UINT64_MAX));
  require_not_a_tile("/tile/0/x018/x446/x744/x073/x709/x551/616");
  require_not_a_tile("/tile/0/x018/x446/x744/x073/x709/x552/000");
  require_not_a_tile("/tile/0/x100/x000/x000/x000/x000/x000/x000/000");
}

TEST_CASE("partial tiles end in .p/<width> with width 1 to 255") {
  CHECK(parsed("/tile/0/000.p/1") == hash_tile(0, 0, 1));
  CHECK(parsed("/tile/0/000.p/10") == hash_tile(0, 0, 10));
  CHECK(parsed("/tile/0/000.p/255") == hash_tile(0, 0, 255));
  CHECK(parsed("/tile/1/x001/x234/067.p/8") == hash_tile(1, 1234067, 8));
  CHECK(parsed("/tile/entries/000.p/1") == entry_bundle(0, 1));
  CHECK(parsed("/tile/entries/x001/234.p/255") == entry_bundle(1234, 255));
}

TEST_CASE("entry bundle paths name entries instead of a level") {
  CHECK(parsed("/tile/entries/000") == entry_bundle(0));
  CHECK(parsed("/tile/entries/x001/x234/067") == entry_bundle(1234067));
  CHECK_FALSE(parsed("/tile/0/000").entries);
}

TEST_CASE("formatting a tile writes the one canonical path, and parsing it gives the tile back") {
  CHECK(format_tile_path(hash_tile(0, 0)) == "/tile/0/000");
  CHECK(format_tile_path(hash_tile(0, 1234067)) == "/tile/0/x001/x234/067");
  CHECK(format_tile_path(hash_tile(2, 1000000, 17)) == "/tile/2/x001/x000/000.p/17");
  CHECK(format_tile_path(entry_bundle(999, 255)) == "/tile/entries/999.p/255");
  CHECK(format_tile_path(hash_tile(0, UINT64_MAX)) == "/tile/0/x018/x446/x744/x073/x709/x551/615");
  for (const auto& tile : {hash_tile(0, 0), hash_tile(0, 999), hash_tile(0, 1000), hash_tile(5, 1234067, 3),
                           hash_tile(63, UINT64_MAX, 255), entry_bundle(0, 1), entry_bundle(1000000),
                           entry_bundle(UINT64_MAX)}) {
    const auto path = format_tile_path(tile);
    INFO(path);
    CHECK(parsed(path) == tile);
  }
}

TEST_CASE("paths outside /tile/ and tiles without an index are not tiles") {
  for (const std::string path : {"", "/", "/tile", "/tile/", "/tile/0", "/tile/0/", "/tile/entries",
                                 "/tile/entries/", "tile/0/000", "//tile/0/000", "/tiles/0/000", "/Tile/0/000",
                                 "/v1/tile/0/000", "/tile/0/000/", "/tile//000", "/tile/0//000"}) {
    require_not_a_tile(path);
  }
}

TEST_CASE("a level is a decimal 0 to 63 without leading zeros or signs") {
  for (const std::string level : {"00", "01", "007", "64", "99", "256", "18446744073709551616", "-1", "+1", " 1",
                                  "1 ", "0x1", "a", "Entries", "entry", "ENTRIES", "1.0"}) {
    require_not_a_tile("/tile/" + level + "/000");
  }
}

TEST_CASE("an index is canonical or refused") {
  for (const std::string index : {
           "0", "00", "1", "0000", "1000", "12", "abc", "0a1", "-01", "+01", " 01", "01 ",
           "x001",           // the last group carries no x
           "001/000",        // every group but the last does
           "X001/000",       // lowercase x only
           "x000/000",       // no leading zero group: 0 is 000
           "x000/x001/000",  // nor several
           "x01/000",        // groups are exactly three digits
           "x0001/000", "x/000", "xx01/000", "x-01/000", "x+01/000", "x001/x234/67", "x001/x234/0067",
           "x001//000", "x001/", "x001/x002", "x1a2/000"}) {
    require_not_a_tile("/tile/0/" + index);
    require_not_a_tile("/tile/entries/" + index);
  }
  // An embedded NUL is not a digit.
  require_not_a_tile(std::string("/tile/0/00\0", 11));
  require_not_a_tile(std::string("/tile/0/000\0", 12));
}

TEST_CASE("a partial width is 1 to 255, decimal, without leading zeros, and ends the path") {
  for (const std::string suffix : {".p/0", ".p/256", ".p/1000", ".p/01", ".p/001", ".p/", ".p/+5", ".p/-5",
                                   ".p/ 5", ".p/5 ", ".p/5/", ".p/5/000", ".p/5.p/5", ".p/x005", ".p", ".p5",
                                   ".q/5", ".P/5", "p/5", "/.p/5", ".p//5"}) {
    require_not_a_tile("/tile/0/000" + suffix);
    require_not_a_tile("/tile/entries/x001/000" + suffix);
  }
  // The suffix belongs after the last group only.
  require_not_a_tile("/tile/0/x001.p/5/000");
  require_not_a_tile("/tile/0/.p/5");
}

// C2SP tlog-tiles request paths (GET /tile/…), in both directions.
//
// Invariants:
// - a path parse_tile_path accepts is the canonical path of the tile it names
//   (format_tile_path(parse_tile_path(p)) == p), with level ≤ 63, width 1..256 and level 0 for
//   entry bundles; anything else is Errc::not_found, as an unknown path is;
// - every tile, built here from the input's bytes, formats to a path that parses back to it.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "auditd/tile_path.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using cordon::auditd::TilePath;

void check_parse(std::string_view path) {
  const auto tile = cordon::auditd::parse_tile_path(path);
  if (!tile) {
    CORDON_FUZZ_CHECK(tile.error().code == cordon::Errc::not_found);
    return;
  }
  CORDON_FUZZ_CHECK(tile->level <= 63);
  CORDON_FUZZ_CHECK(tile->width >= 1 && tile->width <= 256);
  if (tile->entries) CORDON_FUZZ_CHECK(tile->level == 0);
  CORDON_FUZZ_CHECK(cordon::auditd::format_tile_path(*tile) == path);
}

void check_format(const std::uint8_t* data, std::size_t size) {
  if (size < 11) return;
  TilePath tile;
  tile.entries = (data[0] & 1) != 0;
  tile.level = tile.entries ? 0 : data[1] % 64;
  std::memcpy(&tile.index, data + 2, sizeof tile.index);
  tile.width = 1 + data[10];
  if ((data[0] & 2) != 0) tile.width = 256;
  const std::string path = cordon::auditd::format_tile_path(tile);
  const auto parsed = cordon::auditd::parse_tile_path(path);
  CORDON_FUZZ_CHECK(parsed && *parsed == tile);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  check_parse(std::string_view(reinterpret_cast<const char*>(data), size));
  check_format(data, size);
  return 0;
}

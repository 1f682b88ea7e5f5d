#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.h"

namespace cordon::auditd {

// A C2SP tlog-tiles resource (https://c2sp.org/tlog-tiles), tile height 8:
//   /tile/<L>/<N>[.p/<W>]        hash tile at level L
//   /tile/entries/<N>[.p/<W>]    entry bundle
// N is written in groups of three digits, all but the last prefixed "x" (1234067 ->
// x001/x234/067); W is 1..255 for a partial tile and 256 when absent.
struct TilePath {
  bool entries = false;
  unsigned level = 0;
  std::uint64_t index = 0;
  unsigned width = 256;
  bool operator==(const TilePath&) const = default;
};

// Parses a request path strictly: only the canonical encoding is accepted, so each tile has
// exactly one URL (Errc::not_found for anything else, as for any unknown path).
Result<TilePath> parse_tile_path(std::string_view path);

// The canonical path of a tile, the inverse of parse_tile_path.
std::string format_tile_path(const TilePath& tile);

} // namespace cordon::auditd

#pragma once

#include <catch2/catch.hpp>

#include <string>
#include <string_view>

#include "agentd/untrusted/injection_markers.h"
#include "common/encoding.h"

// Helpers shared by the untrusted-content tests.
namespace untrusted_fixtures {

// The UTF-8 form of one code point.
inline std::string utf8(char32_t c) {
  std::string out;
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xc0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3f));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xe0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (c & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (c & 0x3f));
  }
  return out;
}

// `ascii` spelled in Unicode tag characters (U+E0000 + each byte), invisible when rendered.
inline std::string in_tags(std::string_view ascii) {
  std::string out;
  for (char c : ascii) out += utf8(0xe0000 + static_cast<unsigned char>(c));
  return out;
}

inline std::string base64_of(std::string_view text) { return cordon::to_base64(cordon::as_bytes(text)); }

inline std::string hex_of(std::string_view text) { return cordon::to_hex(cordon::as_bytes(text)); }

inline std::string shipped_markers_path() { return std::string(CORDON_SOURCE_DIR) + "/services/injection-markers.toml"; }

// The shipped markers file, loaded once.
inline const cordon::untrusted::MarkerSet& shipped_markers() {
  static const cordon::untrusted::MarkerSet markers = [] {
    auto loaded = cordon::untrusted::load_markers(shipped_markers_path());
    if (!loaded) FAIL("the shipped markers file does not load: " << loaded.error().message);
    return *loaded;
  }();
  return markers;
}

} // namespace untrusted_fixtures

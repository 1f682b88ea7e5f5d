#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "agentd/untrusted/injection_markers.h"

// The deterministic injection scanner (DESIGN.md §6.3): what agentd runs on every tool result
// from outside before the agent sees it. A hit flags the run `prompt_injection_suspected`; the
// flags travel in the proposal as `observed.injection_flags` and approvald's floor sends the
// run's sensitive calls to a human. The scanner never blocks or rewrites content beyond removing
// hidden code points: it is a tripwire, and a miss is expected to be caught by taint (taint.h).
namespace cordon::untrusted {

struct ScanResult {
  // The text without hidden code points: what the agent is given.
  std::string clean_text;
  // Sorted, unique: the classes of the markers that hit (marker_class_name), "encoded_blob" when
  // a marker hit inside decoded base64 or hex, and "hidden_unicode" when anything was stripped.
  std::vector<std::string> flags;
  // Sorted, unique: the ids of the markers that hit. A hit inside a decoded blob or in the ASCII
  // spelled by tag characters carries the path to it: "base64:ignore-previous",
  // "tags:role-act-as", "base64:hex:…".
  std::vector<std::string> marker_ids;
  // Sorted, unique: the classes of the removed hidden code points (StrippedText::kinds),
  // including those found inside decoded blobs.
  std::vector<std::string> hidden_kinds;

  bool suspected() const { return !flags.empty(); }
};

// Scans `text`: strips hidden code points (strip_hidden), then matches the phrase and regex
// markers (MarkerSet::match) against the clean text and against the ASCII spelled by tag
// characters; finds base64 and hex runs that decode to text (decoded_runs), evaluates the run
// markers on them, and scans each decoded text the same way, two levels deep (base64 in base64).
// Deterministic: the same markers and text give the same result. Time is linear in the input:
// decoding adds at most 3/4 of each base64 run and 1/2 of each hex run per level, two levels
// deep, so a small multiple of the input is matched in all. Inputs up to 1 MiB are the intended
// size (callers bound tool output to that); the unit tests scan hostile 1 MiB inputs.
ScanResult scan(const MarkerSet& markers, std::string_view text);

// A run of base64 or hex in a text that decodes to text.
struct DecodedRun {
  Encoding encoding = Encoding::base64;
  // The run's length in alphabet characters (padding and line breaks not counted).
  std::size_t length = 0;
  // The decoded text (UTF-8; an incomplete trailing sequence cut).
  std::string text;
};

// The shortest run decoded_runs tries to decode by default: 12 bytes of base64.
inline constexpr std::size_t min_decoded_run_length = 16;

// Maximal runs of base64 (standard or URL-safe alphabet, optional '=' padding) and of hex digits
// in `text`, at least `min_length` characters long, that decode to text: at least 8 bytes of
// well-formed UTF-8 of which 95% or more are printable (not C0 or C1 controls other than tab
// and line breaks). A run continues across a line break when the line so far holds a whole
// number of groups (a multiple of 4 base64 characters, of 2 hex digits) and at least 16
// characters, as in MIME and PEM bodies. Every alignment of the run (4 for base64, 2 for hex)
// is tried and the first that decodes to text is kept; up to 12 leading bytes that are not text
// (what characters glued to the front of the run decode to) are dropped first, so a run glued to
// a preceding word is still read. Base64 runs first, then hex runs, each in order of position.
// Linear.
std::vector<DecodedRun> decoded_runs(std::string_view text, std::size_t min_length = min_decoded_run_length);

} // namespace cordon::untrusted

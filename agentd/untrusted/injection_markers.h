#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agentd/untrusted/marker_regex.h"
#include "common/error.h"

// The injection markers agentd's scanner looks for in untrusted content (DESIGN.md §6.3): a
// versioned data file (services/injection-markers.toml), so that the list can grow without a
// code change and every scan can name the version it used. This file defines what a marker is,
// how the file is read, and how one text is matched against the phrase and regex markers; which
// texts are matched (the visible text, the hidden ASCII, decoded blobs) is the scanner's job.
namespace cordon {
class ConfigFile;
}

namespace cordon::untrusted {

// What a marker suggests the content is trying to do.
enum class MarkerClass {
  role_shift,        // "you are now …", "act as …", fake chat-role headers and tokens
  ignore_previous,   // "ignore all previous instructions"
  system_prompt,     // talk of the system prompt, "new instructions", developer mode
  tool_call_payload, // text shaped like a tool call, for the agent to copy
  exfiltration,      // "send the contents to …"
  encoded_blob,      // instructions hidden in an encoding the model can read (base64, hex)
};

// "role_shift", …, as written in the markers file and in scan flags.
std::string_view marker_class_name(MarkerClass marker_class);
std::optional<MarkerClass> parse_marker_class(std::string_view name);

// An encoding whose runs a `run` marker counts and the scanner decodes.
enum class Encoding { base64, hex };
std::string_view encoding_name(Encoding encoding);

// How a marker matches.
enum class MarkerForm {
  phrases, // any of `phrases`, as whole words of the normalised text (normalise_for_matching)
  regex,   // `regex` (case-insensitive; MarkerRegex), searched in each line of the folded text
  run,     // a run of `run` characters at least `min_length` long that decodes to text; the
           // scanner evaluates these, since it decodes the runs anyway
};

struct Marker {
  std::string id;
  MarkerClass marker_class = MarkerClass::role_shift;
  MarkerForm form = MarkerForm::phrases;
  std::vector<std::string> phrases; // normalised
  std::string regex_source;
  std::optional<MarkerRegex> regex; // for MarkerForm::regex
  // required_literals(regex_source): lines without them are not searched.
  std::vector<std::vector<std::string>> regex_literals;
  Encoding run = Encoding::base64;
  std::size_t min_length = 0;
};

// Regexes are searched in one line at a time; a line longer than this is searched in chunks of
// this size that overlap by regex_chunk_overlap_bytes, so a match longer than the overlap that
// straddles a chunk boundary is missed. Bounds the work of one search.
inline constexpr std::size_t max_regex_line_bytes = 8192;
inline constexpr std::size_t regex_chunk_overlap_bytes = 512;
// The largest bound a regex repetition ({m,n}) may have, and the longest regex.
inline constexpr std::size_t max_regex_repeat = 256;
inline constexpr std::size_t max_regex_bytes = 1024;

// A loaded markers file. Immutable; copies share the compiled regexes.
class MarkerSet {
public:
  // Reads the markers file strictly. The root holds `version` (a non-empty string of at most 64
  // of [0-9A-Za-z._-]) and `[[marker]]` tables, at least one. A marker holds `id` (unique, 1..64
  // of [a-z0-9._-], starting with a letter or digit), `class` (a MarkerClass name) and exactly
  // one of: `phrases` (a non-empty list of phrases, each with at least one word), `regex`
  // (compiles, and passes regex_complexity_problem), or `run` ("base64" or "hex") with
  // `min_length` (16..65536). Anything else — an unknown key, an unknown class, a second form,
  // a bad regex — fails with Errc::invalid_argument naming the file and the marker's id.
  static Result<MarkerSet> parse(std::string_view toml_text, std::string source_name);
  // The same, from a parsed file.
  static Result<MarkerSet> from_config(const ConfigFile& file);

  const std::string& version() const { return m_version; }
  const std::string& source() const { return m_source; }
  const std::vector<Marker>& markers() const { return m_markers; }

  // Indices into markers(), ascending, of the phrase and regex markers that `text` matches.
  // `text` is what the agent sees, hidden code points already removed (strip_hidden). Linear in
  // the text for phrases; regexes cost at most max_regex_line_bytes per start position (each is
  // bounded, see regex_complexity_problem), and a marker stops being searched once it has hit.
  std::vector<std::size_t> match(std::string_view text) const;

private:
  struct PhraseRef {
    std::size_t marker;
    std::string phrase;
  };

  std::string m_version;
  std::string m_source;
  std::vector<Marker> m_markers;
  // Phrases by their first word, so that matching looks only at phrases that can start at a word.
  std::map<std::string, std::vector<PhraseRef>, std::less<>> m_phrases_by_first_word;
};

// ConfigFile::load(path), then MarkerSet::parse. A missing or unreadable file keeps
// ConfigFile's code (Errc::not_found, Errc::io_error); malformed TOML is Errc::invalid_argument.
Result<MarkerSet> load_markers(const std::string& path);

// The text regexes are matched against: ASCII lowercased; look-alike letters folded to ASCII
// (fullwidth forms, mathematical alphanumerics, circled letters, the Cyrillic and Greek letters
// that look Latin); Unicode spaces, dashes and quotes folded to their ASCII forms; combining
// diacritical marks U+0300..U+036F dropped; runs of spaces, tabs and other controls collapsed
// to one space; line breaks (LF, U+0085, U+2028, U+2029) kept as LF. Other code points are
// kept as they are. Never throws except std::bad_alloc.
std::string fold_for_matching(std::string_view text);

// The text phrases are matched against: the folded text's words — runs of ASCII letters and
// digits and of non-ASCII code points outside the punctuation and symbol blocks — joined by
// single spaces. So "IGNORE   all previous-instructions" becomes
// "ignore all previous instructions". Phrases in the markers file are normalised the same way.
std::string normalise_for_matching(std::string_view text);

// Literals that every match of `pattern` contains, as a conjunction of alternatives: a match
// contains, for each inner list, at least one of its strings. ASCII letters are lowercased, since
// patterns are case-insensitive and searched in lowercased text. Derived conservatively from
// mandatory literal characters, mandatory groups and alternations; anything it does not
// understand contributes nothing, and an empty result means "no prefilter". MarkerSet::match
// searches a line with the regex only when the line contains them, which skips the regex for
// almost every line.
std::vector<std::vector<std::string>> required_literals(std::string_view pattern);

// Why `pattern` could make a regex search slow, or nullopt: '*', '+' and {m,}
// may repeat only \s or a space (the folded text has no runs of whitespace, so they consume at
// most one character there); {m,n} needs n <= max_regex_repeat; a class must be closed. Also
// refuses patterns longer than max_regex_bytes. Does not bound nested repetitions: keep
// markers' regexes flat.
std::optional<std::string> regex_complexity_problem(std::string_view pattern);

} // namespace cordon::untrusted

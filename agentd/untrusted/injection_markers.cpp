#include "agentd/untrusted/injection_markers.h"

#include <algorithm>
#include <array>
#include <set>
#include <utility>

#include "common/config.h"
#include "common/utf8.h"

namespace cordon::untrusted {
namespace {

constexpr std::array<std::pair<MarkerClass, std::string_view>, 6> class_names = {{
    {MarkerClass::role_shift, "role_shift"},
    {MarkerClass::ignore_previous, "ignore_previous"},
    {MarkerClass::system_prompt, "system_prompt"},
    {MarkerClass::tool_call_payload, "tool_call_payload"},
    {MarkerClass::exfiltration, "exfiltration"},
    {MarkerClass::encoded_blob, "encoded_blob"},
}};

// ---------------------------------------------------------------------------------------------
// Folding

bool in(char32_t c, char32_t first, char32_t last) { return c >= first && c <= last; }

// Letters that render like ASCII ones, sorted by code point: Greek and Cyrillic look-alikes and
// the letterlike symbols that fill the holes of the mathematical alphanumeric block (U+210E is
// the italic "h"). Not Unicode's full confusables list: the letters an attacker reaches for.
constexpr std::pair<char32_t, char> look_alikes[] = {
    {0x0261, 'g'},
    {0x0391, 'a'}, {0x0392, 'b'}, {0x0395, 'e'}, {0x0396, 'z'}, {0x0397, 'h'}, {0x0399, 'i'},
    {0x039a, 'k'}, {0x039c, 'm'}, {0x039d, 'n'}, {0x039f, 'o'}, {0x03a1, 'p'}, {0x03a4, 't'},
    {0x03a5, 'y'}, {0x03a7, 'x'}, {0x03b1, 'a'}, {0x03b5, 'e'}, {0x03b9, 'i'}, {0x03ba, 'k'},
    {0x03bd, 'v'}, {0x03bf, 'o'}, {0x03c1, 'p'}, {0x03c4, 't'}, {0x03c5, 'u'}, {0x03c7, 'x'},
    {0x0405, 's'}, {0x0406, 'i'}, {0x0408, 'j'}, {0x0410, 'a'}, {0x0412, 'b'}, {0x0415, 'e'},
    {0x041a, 'k'}, {0x041c, 'm'}, {0x041d, 'h'}, {0x041e, 'o'}, {0x0420, 'p'}, {0x0421, 'c'},
    {0x0422, 't'}, {0x0423, 'y'}, {0x0425, 'x'}, {0x0430, 'a'}, {0x0432, 'b'}, {0x0435, 'e'},
    {0x043a, 'k'}, {0x043c, 'm'}, {0x043d, 'h'}, {0x043e, 'o'}, {0x0440, 'p'}, {0x0441, 'c'},
    {0x0442, 't'}, {0x0443, 'y'}, {0x0445, 'x'}, {0x0455, 's'}, {0x0456, 'i'}, {0x0458, 'j'},
    {0x04bb, 'h'}, {0x04c0, 'i'}, {0x0501, 'd'}, {0x051b, 'q'}, {0x051d, 'w'},
    {0x2102, 'c'}, {0x210a, 'g'}, {0x210b, 'h'}, {0x210c, 'h'}, {0x210d, 'h'}, {0x210e, 'h'},
    {0x2110, 'i'}, {0x2111, 'i'}, {0x2112, 'l'}, {0x2113, 'l'}, {0x2115, 'n'}, {0x2119, 'p'},
    {0x211a, 'q'}, {0x211b, 'r'}, {0x211c, 'r'}, {0x211d, 'r'}, {0x2124, 'z'}, {0x2128, 'z'},
    {0x212a, 'k'}, {0x212c, 'b'}, {0x212d, 'c'}, {0x212f, 'e'}, {0x2130, 'e'}, {0x2131, 'f'},
    {0x2133, 'm'}, {0x2134, 'o'}, {0x2139, 'i'}, {0x2170, 'i'}, {0x2174, 'v'}, {0x2179, 'x'},
    {0x217c, 'l'}, {0x217d, 'c'}, {0x217e, 'd'}, {0x217f, 'm'}, {0xa731, 's'}, {0xab75, 'i'},
};
static_assert(std::is_sorted(std::begin(look_alikes), std::end(look_alikes)), "look_alikes must be sorted");

// The ASCII character `c` folds to, or 0 when it has no ASCII form. Spaces fold to ' ', line
// breaks to '\n'.
char ascii_form(char32_t c) {
  if (c < 0x80) {
    if (c == '\n') return '\n';
    if (c < 0x20 || c == 0x7f) return ' ';
    if (c >= 'A' && c <= 'Z') return static_cast<char>(c - 'A' + 'a');
    return static_cast<char>(c);
  }
  if (c == 0x0085 || c == 0x2028 || c == 0x2029) return '\n';
  if (c == 0x00a0 || c == 0x1680 || in(c, 0x2000, 0x200a) || c == 0x202f || c == 0x205f || c == 0x3000)
    return ' ';
  if (in(c, 0x2010, 0x2015) || c == 0x2212 || c == 0xfe58 || c == 0xfe63) return '-';
  if (in(c, 0x2018, 0x201b) || c == 0x2032 || c == 0x2035 || c == 0x2039 || c == 0x203a) return '\'';
  if (in(c, 0x201c, 0x201f) || c == 0x2033 || c == 0x2036 || c == 0x00ab || c == 0x00bb) return '"';
  if (c == 0x2024) return '.';
  if (in(c, 0xff01, 0xff5e)) return ascii_form(c - 0xfee0); // fullwidth ASCII
  if (in(c, 0x1d400, 0x1d6a3)) // mathematical letters: 13 styles of A-Z then a-z
    return static_cast<char>('a' + (c - 0x1d400) % 52 % 26);
  if (in(c, 0x1d7ce, 0x1d7ff)) return static_cast<char>('0' + (c - 0x1d7ce) % 10);
  if (in(c, 0x24b6, 0x24cf)) return static_cast<char>('a' + (c - 0x24b6)); // circled capitals
  if (in(c, 0x24d0, 0x24e9)) return static_cast<char>('a' + (c - 0x24d0));
  const auto* found = std::lower_bound(std::begin(look_alikes), std::end(look_alikes), c,
                                       [](const auto& entry, char32_t key) { return entry.first < key; });
  if (found != std::end(look_alikes) && found->first == c) return found->second;
  return 0;
}

bool is_combining_mark(char32_t c) { return in(c, 0x0300, 0x036f); }

// Non-ASCII code points that separate words: Latin-1 punctuation and symbols, the general
// punctuation, symbol, arrow, shape and dingbat blocks, CJK punctuation, small and vertical
// forms, emoji and pictographs.
bool separates_words(char32_t c) {
  return in(c, 0x00a1, 0x00bf) || c == 0x00d7 || c == 0x00f7 || in(c, 0x2000, 0x2bff) ||
         in(c, 0x3000, 0x303f) || in(c, 0xfe10, 0xfe1f) || in(c, 0xfe30, 0xfe6f) ||
         in(c, 0xff00, 0xff0f) || in(c, 0x1f000, 0x1faff);
}

bool is_ascii_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

// ---------------------------------------------------------------------------------------------
// Loading

std::string without_source(std::string message, const std::string& source) {
  const std::string prefix = source + ": ";
  if (message.starts_with(prefix)) message.erase(0, prefix.size());
  return message;
}

bool valid_id(std::string_view id) {
  if (id.empty() || id.size() > 64 || !is_ascii_alnum(id.front())) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
  });
}

bool valid_version(std::string_view version) {
  if (version.empty() || version.size() > 64) return false;
  return std::all_of(version.begin(), version.end(),
                     [](char c) { return is_ascii_alnum(c) || c == '.' || c == '_' || c == '-'; });
}

// Reads one [[marker]] table; `label` names it in errors ("marker \"id\"" or "marker[3]").
class MarkerReader {
public:
  MarkerReader(const ConfigFile& table, std::size_t index) : m_table(table) {
    m_label = "marker[" + std::to_string(index) + "]";
  }

  Result<Marker> read() {
    Marker marker;
    auto id = m_table.optional_string("id");
    if (id && *id) {
      marker.id = **id;
      m_label = "marker \"" + marker.id + "\"";
    }
    for (const std::string& key : m_table.keys()) {
      static constexpr std::array<std::string_view, 6> known = {"id", "class", "phrases", "regex", "run", "min_length"};
      if (std::find(known.begin(), known.end(), key) == known.end())
        return refuse("unknown key \"" + key + "\"; known keys: id, class, phrases, regex, run, min_length");
    }
    if (!id) return refuse(without_source(id.error().message, m_table.source()));
    if (!*id) return refuse("missing required key id");
    if (!valid_id(marker.id)) return refuse("id must be 1..64 of [a-z0-9._-], starting with a letter or digit");

    auto class_name = m_table.string("class");
    if (!class_name) return refuse(without_source(class_name.error().message, m_table.source()));
    auto marker_class = parse_marker_class(*class_name);
    if (!marker_class) {
      return refuse("unknown class \"" + *class_name +
                    "\"; known classes: role_shift, ignore_previous, system_prompt, tool_call_payload, "
                    "exfiltration, encoded_blob");
    }
    marker.marker_class = *marker_class;

    const int forms = int(m_table.contains("phrases")) + int(m_table.contains("regex")) + int(m_table.contains("run"));
    if (forms != 1) return refuse("needs exactly one of phrases, regex or run");
    if (m_table.contains("min_length") && !m_table.contains("run")) return refuse("min_length belongs to a run marker");
    if (m_table.contains("phrases")) return read_phrases(std::move(marker));
    if (m_table.contains("regex")) return read_regex(std::move(marker));
    return read_run(std::move(marker));
  }

private:
  tl::unexpected<Error> refuse(const std::string& what) const {
    return fail(Errc::invalid_argument, m_table.source() + ": " + m_label + ": " + what);
  }

  Result<Marker> read_phrases(Marker marker) {
    auto phrases = m_table.string_list("phrases");
    if (!phrases) return refuse(without_source(phrases.error().message, m_table.source()));
    if (phrases->empty()) return refuse("phrases is empty");
    for (const std::string& phrase : *phrases) {
      std::string normalised = normalise_for_matching(phrase);
      if (normalised.empty()) return refuse("phrase \"" + phrase + "\" has no words");
      if (phrase.size() > 256) return refuse("a phrase is longer than 256 bytes");
      marker.phrases.push_back(std::move(normalised));
    }
    marker.form = MarkerForm::phrases;
    return marker;
  }

  Result<Marker> read_regex(Marker marker) {
    auto source = m_table.string("regex");
    if (!source) return refuse(without_source(source.error().message, m_table.source()));
    if (source->empty()) return refuse("regex is empty");
    if (auto problem = regex_complexity_problem(*source)) return refuse("regex " + *problem);
    auto compiled = MarkerRegex::compile(*source);
    if (!compiled) return refuse("regex does not compile: " + compiled.error().message);
    marker.regex = std::move(*compiled);
    marker.regex_literals = required_literals(*source);
    marker.regex_source = std::move(*source);
    marker.form = MarkerForm::regex;
    return marker;
  }

  Result<Marker> read_run(Marker marker) {
    auto run = m_table.string("run");
    if (!run) return refuse(without_source(run.error().message, m_table.source()));
    if (*run == "base64") {
      marker.run = Encoding::base64;
    } else if (*run == "hex") {
      marker.run = Encoding::hex;
    } else {
      return refuse("unknown run \"" + *run + "\"; known runs: base64, hex");
    }
    auto min_length = m_table.integer("min_length", 16, 65536);
    if (!min_length) return refuse(without_source(min_length.error().message, m_table.source()));
    marker.min_length = static_cast<std::size_t>(*min_length);
    marker.form = MarkerForm::run;
    return marker;
  }

  const ConfigFile& m_table;
  std::string m_label;
};

// ---------------------------------------------------------------------------------------------
// Required literals (see required_literals): a recursive descent over the ECMAScript syntax the
// markers use. Classes, escapes such as \s, lookaheads and optional atoms contribute nothing;
// anything it does not parse makes it give up on the whole pattern (no prefilter). Both can only
// make the prefilter weaker, never wrong.

using Conjunction = std::vector<std::vector<std::string>>;

// The length of the shortest literal of an alternative set: how selective it is.
std::size_t selectivity(const std::vector<std::string>& alternatives) {
  std::size_t shortest = std::string::npos;
  for (const std::string& literal : alternatives) shortest = std::min(shortest, literal.size());
  return alternatives.empty() ? 0 : shortest;
}

class LiteralAnalyser {
public:
  explicit LiteralAnalyser(std::string_view pattern) : m_pattern(pattern) {}

  Conjunction run() {
    Conjunction result = alternation();
    if (m_failed || m_at != m_pattern.size()) return {};
    return result;
  }

private:
  struct Quantifier {
    std::size_t min = 1;
    bool repeats = false; // may match more than once
  };

  static char lowered(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

  bool at_end() const { return m_at >= m_pattern.size(); }
  char peek() const { return m_pattern[m_at]; }

  // alternation := sequence ('|' sequence)*. One alternative keeps its whole conjunction; several
  // reduce to one set: the union of each alternative's most selective set.
  Conjunction alternation() {
    std::vector<Conjunction> alternatives{sequence()};
    while (!at_end() && peek() == '|') {
      ++m_at;
      alternatives.push_back(sequence());
    }
    if (alternatives.size() == 1) return alternatives.front();
    std::vector<std::string> any_of;
    for (const Conjunction& alternative : alternatives) {
      const std::vector<std::string>* best = nullptr;
      for (const auto& set : alternative)
        if (best == nullptr || selectivity(set) > selectivity(*best)) best = &set;
      if (best == nullptr) return {}; // this alternative needs no literal, so the whole needs none
      any_of.insert(any_of.end(), best->begin(), best->end());
    }
    return {any_of};
  }

  Conjunction sequence() {
    Conjunction result;
    std::string run;
    const auto close_run = [&] {
      if (!run.empty()) result.push_back({run});
      run.clear();
    };
    while (!at_end() && peek() != '|' && peek() != ')' && !m_failed) {
      std::optional<char> literal;
      Conjunction group;
      if (!atom(literal, group)) {
        close_run();
        if (!m_failed) quantifier();
        continue;
      }
      const Quantifier q = quantifier();
      if (literal) {
        if (q.min == 0) {
          close_run();
          continue;
        }
        run += *literal;
        if (q.repeats) close_run();
        continue;
      }
      close_run();
      if (q.min > 0) result.insert(result.end(), group.begin(), group.end());
    }
    close_run();
    return result;
  }

  // Reads one atom. Returns true for a literal character (in `literal`) or a capturing or
  // non-capturing group (its conjunction in `group`); false for anything else.
  bool atom(std::optional<char>& literal, Conjunction& group) {
    const char c = peek();
    if (c == '\\') {
      if (m_at + 1 >= m_pattern.size()) return fail();
      const char escaped = m_pattern[m_at + 1];
      m_at += 2;
      if (std::string_view("bBsSwWdDntrfv0123456789cxuk").find(escaped) != std::string_view::npos) return false;
      literal = lowered(escaped);
      return true;
    }
    if (c == '[') {
      std::size_t j = m_at + 1;
      while (j < m_pattern.size() && m_pattern[j] != ']') j += m_pattern[j] == '\\' ? 2 : 1;
      if (j >= m_pattern.size()) return fail();
      m_at = j + 1;
      return false;
    }
    if (c == '(') {
      ++m_at;
      bool lookahead = false;
      if (!at_end() && peek() == '?') {
        if (m_at + 1 >= m_pattern.size()) return fail();
        const char kind = m_pattern[m_at + 1];
        if (kind != ':' && kind != '=' && kind != '!') return fail();
        lookahead = kind != ':';
        m_at += 2;
      }
      Conjunction inner = alternation();
      if (at_end() || peek() != ')') return fail();
      ++m_at;
      if (lookahead) return false;
      group = std::move(inner);
      return true;
    }
    if (c == '*' || c == '+' || c == '?' || c == '{') return fail(); // a quantifier without an atom
    ++m_at;
    if (c == '.' || c == '^' || c == '$') return false;
    literal = lowered(c);
    return true;
  }

  Quantifier quantifier() {
    Quantifier q;
    if (at_end()) return q;
    const char c = peek();
    if (c == '*' || c == '+' || c == '?') {
      ++m_at;
      q.min = c == '+' ? 1 : 0;
      q.repeats = c != '?';
    } else if (c == '{') {
      const std::size_t close = m_pattern.find('}', m_at);
      if (close == std::string_view::npos) {
        fail();
        return q;
      }
      const std::string_view body = m_pattern.substr(m_at + 1, close - m_at - 1);
      const std::string_view low = body.substr(0, body.find(','));
      if (low.empty() || low.size() > 6 || low.find_first_not_of("0123456789") != std::string_view::npos) {
        fail();
        return q;
      }
      q.min = std::stoul(std::string(low));
      q.repeats = body != low || q.min > 1;
      m_at = close + 1;
    } else {
      return q;
    }
    if (!at_end() && peek() == '?') ++m_at; // lazy
    return q;
  }

  bool fail() {
    m_failed = true;
    m_at = m_pattern.size();
    return false;
  }

  std::string_view m_pattern;
  std::size_t m_at = 0;
  bool m_failed = false;
};

bool line_has_literals(std::string_view line, const Conjunction& literals) {
  for (const auto& any_of : literals) {
    const bool found = std::any_of(any_of.begin(), any_of.end(),
                                   [&](const std::string& literal) { return line.find(literal) != std::string_view::npos; });
    if (!found) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Matching

// The words of folded text, joined by single spaces (see normalise_for_matching).
std::string words_of(std::string_view folded) {
  std::string out;
  out.reserve(folded.size());
  bool in_word = false;
  std::size_t i = 0;
  while (i < folded.size()) {
    const std::size_t start = i;
    const char32_t code_point = utf8_decode_lenient(folded, i);
    const bool word = code_point < 0x80 ? is_ascii_alnum(static_cast<char>(code_point)) : !separates_words(code_point);
    if (!word) {
      in_word = false;
      continue;
    }
    if (!in_word && !out.empty()) out += ' ';
    in_word = true;
    out.append(folded.substr(start, i - start));
  }
  return out;
}

std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    if (end > start) lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

bool regex_hits(const Marker& marker, std::string_view line) {
  std::size_t start = 0;
  while (true) {
    const std::size_t end = std::min(line.size(), start + max_regex_line_bytes);
    if (!line_has_literals(line.substr(start, end - start), marker.regex_literals)) {
      if (end == line.size()) return false;
      start = end - regex_chunk_overlap_bytes;
      continue;
    }
    if (marker.regex->search(line.substr(0, end), start, end == line.size())) return true;
    if (end == line.size()) return false;
    start = end - regex_chunk_overlap_bytes;
  }
}

} // namespace

std::string_view marker_class_name(MarkerClass marker_class) {
  for (const auto& [value, name] : class_names)
    if (value == marker_class) return name;
  return "unknown";
}

std::optional<MarkerClass> parse_marker_class(std::string_view name) {
  for (const auto& [value, known] : class_names)
    if (known == name) return value;
  return std::nullopt;
}

std::string_view encoding_name(Encoding encoding) { return encoding == Encoding::base64 ? "base64" : "hex"; }

std::string fold_for_matching(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool pending_space = false;
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t start = i;
    const char32_t code_point = utf8_decode_lenient(text, i);
    if (is_combining_mark(code_point)) continue;
    const char ascii = ascii_form(code_point);
    if (ascii == ' ') {
      pending_space = true;
      continue;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    if (ascii != 0) {
      out += ascii;
    } else {
      out.append(text.substr(start, i - start));
    }
  }
  return out;
}

std::string normalise_for_matching(std::string_view text) { return words_of(fold_for_matching(text)); }

std::vector<std::vector<std::string>> required_literals(std::string_view pattern) {
  return LiteralAnalyser(pattern).run();
}

std::optional<std::string> regex_complexity_problem(std::string_view pattern) {
  if (pattern.size() > max_regex_bytes) return "is longer than " + std::to_string(max_regex_bytes) + " bytes";
  bool last_is_whitespace = false; // the atom before a quantifier is \s or a space
  std::size_t i = 0;
  while (i < pattern.size()) {
    const char c = pattern[i];
    if (c == '\\') {
      if (i + 1 >= pattern.size()) return std::string("ends in a lone backslash");
      last_is_whitespace = pattern[i + 1] == 's';
      i += 2;
      continue;
    }
    if (c == '[') {
      std::size_t j = i + 1;
      while (j < pattern.size() && pattern[j] != ']') j += pattern[j] == '\\' ? 2 : 1;
      if (j >= pattern.size()) return std::string("has an unclosed [");
      last_is_whitespace = false;
      i = j + 1;
      continue;
    }
    if (c == '*' || c == '+') {
      if (!last_is_whitespace)
        return std::string("repeats something other than \\s or a space without a bound ('") + c +
               "'); write {m,n}";
      last_is_whitespace = false;
      ++i;
      continue;
    }
    if (c == '{') {
      std::size_t j = i + 1;
      std::size_t low_digits = 0;
      while (j < pattern.size() && pattern[j] >= '0' && pattern[j] <= '9') ++j, ++low_digits;
      const bool comma = j < pattern.size() && pattern[j] == ',';
      const std::size_t high_start = comma ? j + 1 : j;
      std::size_t k = high_start;
      while (k < pattern.size() && pattern[k] >= '0' && pattern[k] <= '9') ++k;
      if (low_digits == 0 || k >= pattern.size() || pattern[k] != '}') {
        last_is_whitespace = false; // not a repetition; the compiler judges it
        ++i;
        continue;
      }
      if (comma && k == high_start && !last_is_whitespace)
        return std::string("repeats something other than \\s or a space without a bound ({m,}); write {m,n}");
      const std::string_view bound = comma && k > high_start ? pattern.substr(high_start, k - high_start)
                                                             : pattern.substr(i + 1, low_digits);
      if (bound.size() > 4 || std::stoul(std::string(bound)) > max_regex_repeat)
        return "repeats more than " + std::to_string(max_regex_repeat) + " times";
      last_is_whitespace = false;
      i = k + 1;
      continue;
    }
    last_is_whitespace = c == ' ';
    ++i;
  }
  return std::nullopt;
}

Result<MarkerSet> MarkerSet::parse(std::string_view toml_text, std::string source_name) {
  return from_config(CORDON_TRY(ConfigFile::parse(toml_text, std::move(source_name))));
}

Result<MarkerSet> MarkerSet::from_config(const ConfigFile& file) {
  MarkerSet set;
  set.m_source = file.source();
  for (const std::string& key : file.keys()) {
    if (key != "version" && key != "marker")
      return fail(Errc::invalid_argument, set.m_source + ": unknown key \"" + key + "\"; known keys: version, marker");
  }
  auto version = file.string("version");
  if (!version) return fail(Errc::invalid_argument, version.error().message);
  if (!valid_version(*version))
    return fail(Errc::invalid_argument, set.m_source + ": version must be 1..64 of [0-9A-Za-z._-]");
  set.m_version = std::move(*version);
  auto tables = file.table_list("marker");
  if (!tables) return fail(Errc::invalid_argument, tables.error().message);
  if (tables->empty()) return fail(Errc::invalid_argument, set.m_source + ": no [[marker]] tables");

  std::set<std::string, std::less<>> ids;
  for (std::size_t index = 0; index < tables->size(); ++index) {
    Marker marker = CORDON_TRY(MarkerReader((*tables)[index], index).read());
    if (!ids.insert(marker.id).second)
      return fail(Errc::invalid_argument, set.m_source + ": marker \"" + marker.id + "\": duplicate id");
    for (const std::string& phrase : marker.phrases) {
      const std::string first_word = phrase.substr(0, phrase.find(' '));
      set.m_phrases_by_first_word[first_word].push_back({set.m_markers.size(), phrase});
    }
    set.m_markers.push_back(std::move(marker));
  }
  return set;
}

std::vector<std::size_t> MarkerSet::match(std::string_view text) const {
  std::vector<bool> hit(m_markers.size(), false);
  const std::string folded = fold_for_matching(text);

  const std::string words = normalise_for_matching(folded);
  std::size_t start = 0;
  while (start < words.size()) {
    std::size_t end = words.find(' ', start);
    if (end == std::string::npos) end = words.size();
    const auto found = m_phrases_by_first_word.find(std::string_view(words).substr(start, end - start));
    if (found != m_phrases_by_first_word.end()) {
      for (const PhraseRef& candidate : found->second) {
        if (hit[candidate.marker]) continue;
        const std::size_t after = start + candidate.phrase.size();
        if (words.compare(start, candidate.phrase.size(), candidate.phrase) == 0 &&
            (after == words.size() || words[after] == ' '))
          hit[candidate.marker] = true;
      }
    }
    start = end + 1;
  }

  const std::vector<std::string_view> lines = lines_of(folded);
  for (std::size_t index = 0; index < m_markers.size(); ++index) {
    if (m_markers[index].form != MarkerForm::regex) continue;
    for (std::string_view line : lines) {
      if (regex_hits(m_markers[index], line)) {
        hit[index] = true;
        break;
      }
    }
  }

  std::vector<std::size_t> result;
  for (std::size_t index = 0; index < hit.size(); ++index)
    if (hit[index]) result.push_back(index);
  return result;
}

Result<MarkerSet> load_markers(const std::string& path) {
  return MarkerSet::from_config(CORDON_TRY(ConfigFile::load(path)));
}

} // namespace cordon::untrusted

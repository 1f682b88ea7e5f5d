#include "agentd/untrusted/scanner.h"

#include <algorithm>
#include <cstdint>
#include <set>
#include <string>

#include "agentd/untrusted/hidden_unicode.h"
#include "common/utf8.h"

namespace cordon::untrusted {
namespace {

// Levels of decoding below the visible text: a blob, and a blob inside a blob.
constexpr int max_decode_depth = 2;

bool is_base64_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/' || c == '-' || c == '_';
}

bool is_hex_char(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  return 63; // '/' or '_'
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

// Decodes base64 characters (no padding, no other characters); a trailing group of 2 or 3
// characters gives 1 or 2 bytes, a lone trailing character is dropped.
std::string decode_base64(std::string_view chars) {
  std::string out;
  out.reserve(chars.size() / 4 * 3 + 2);
  std::uint32_t bits = 0;
  int bit_count = 0;
  for (char c : chars) {
    bits = (bits << 6) | static_cast<std::uint32_t>(base64_value(c));
    bit_count += 6;
    if (bit_count >= 8) {
      bit_count -= 8;
      out += static_cast<char>((bits >> bit_count) & 0xff);
    }
  }
  return out;
}

std::string decode_hex(std::string_view chars) {
  std::string out;
  out.reserve(chars.size() / 2);
  for (std::size_t i = 0; i + 1 < chars.size(); i += 2)
    out += static_cast<char>(hex_value(chars[i]) * 16 + hex_value(chars[i + 1]));
  return out;
}

// Leading decoded bytes that may come from characters glued to the front of a run.
constexpr std::size_t max_glued_bytes = 12;

bool is_control(char32_t c) { return (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || (c >= 0x7f && c < 0xa0); }

// How many leading bytes of `bytes` to drop: up to the last ill-formed or control byte among
// the first max_glued_bytes, which is what characters glued to the front of a run decode to.
std::size_t glued_prefix(std::string_view bytes) {
  std::size_t cut = 0;
  std::size_t i = 0;
  while (i < std::min(bytes.size(), max_glued_bytes)) {
    if (utf8_sequence_length(bytes, i) == 0) {
      cut = ++i;
      continue;
    }
    if (is_control(utf8_decode_lenient(bytes, i))) cut = i;
  }
  return cut;
}

// `bytes` as text (see decoded_runs), or empty when it is not text.
std::string as_text(std::string bytes) {
  bytes.erase(0, glued_prefix(bytes));
  if (bytes.size() < 8) return {};
  if (auto invalid = utf8_first_invalid(bytes)) {
    if (bytes.size() - *invalid > 3) return {};
    bytes.resize(*invalid); // an incomplete sequence cut at the end of the run
    if (utf8_first_invalid(bytes) || bytes.size() < 8) return {};
  }
  std::size_t total = 0;
  std::size_t printable = 0;
  std::size_t i = 0;
  while (i < bytes.size()) {
    ++total;
    if (!is_control(utf8_decode_lenient(bytes, i))) ++printable;
  }
  return printable * 20 >= total * 19 ? bytes : std::string();
}

// Finds the maximal runs of `is_char` in `text`, joined across line breaks after a line of at
// least 16 characters that is a multiple of `group`, and calls `on_run(chars)` for each run of
// at least `min_length` characters. Base64 padding ('=') ends a run.
template <class IsChar, class OnRun>
void for_each_run(std::string_view text, std::size_t min_length, std::size_t group, IsChar is_char, OnRun on_run) {
  std::size_t i = 0;
  std::string chars;
  while (i < text.size()) {
    if (!is_char(text[i])) {
      ++i;
      continue;
    }
    chars.clear();
    while (true) {
      std::size_t segment = 0;
      while (i < text.size() && is_char(text[i])) {
        chars += text[i++];
        ++segment;
      }
      if (segment < 16 || segment % group != 0) break;
      std::size_t next = i;
      if (next < text.size() && text[next] == '\r') ++next;
      if (next >= text.size() || text[next] != '\n') break;
      ++next;
      while (next < text.size() && next - i < 32 && (text[next] == ' ' || text[next] == '\t')) ++next;
      if (next >= text.size() || !is_char(text[next])) break;
      i = next;
    }
    if (chars.size() >= min_length) on_run(std::string_view(chars));
  }
}

class Scanner {
public:
  explicit Scanner(const MarkerSet& markers) : m_markers(markers) {}

  ScanResult run(std::string_view text) {
    StrippedText stripped = strip_hidden(text);
    note_hidden(stripped);
    scan_layer(stripped.text, "", 0);
    if (!stripped.hidden_ascii.empty()) scan_layer(stripped.hidden_ascii, "tags:", 1);

    ScanResult result;
    result.clean_text = std::move(stripped.text);
    result.flags.assign(m_flags.begin(), m_flags.end());
    result.marker_ids.assign(m_ids.begin(), m_ids.end());
    result.hidden_kinds.assign(m_hidden_kinds.begin(), m_hidden_kinds.end());
    return result;
  }

private:
  void note_hidden(const StrippedText& stripped) {
    if (stripped.removed == 0) return;
    m_flags.insert("hidden_unicode");
    m_hidden_kinds.insert(stripped.kinds.begin(), stripped.kinds.end());
  }

  void record(const std::string& prefix, const Marker& marker) {
    ++m_hits;
    m_ids.insert(prefix + marker.id);
    m_flags.insert(std::string(marker_class_name(marker.marker_class)));
  }

  // Scans one text without hidden code points; `prefix` names where it came from.
  void scan_layer(std::string_view text, const std::string& prefix, int depth) {
    for (std::size_t index : m_markers.match(text)) record(prefix, m_markers.markers()[index]);
    for (const DecodedRun& run : decoded_runs(text)) {
      for (const Marker& marker : m_markers.markers()) {
        if (marker.form == MarkerForm::run && marker.run == run.encoding && run.length >= marker.min_length)
          record(prefix, marker);
      }
      if (depth >= max_decode_depth) continue;
      const StrippedText inner = strip_hidden(run.text);
      note_hidden(inner);
      const std::size_t hits_before = m_hits;
      const std::string inner_prefix = prefix + std::string(encoding_name(run.encoding)) + ":";
      scan_layer(inner.text, inner_prefix, depth + 1);
      if (!inner.hidden_ascii.empty()) scan_layer(inner.hidden_ascii, inner_prefix + "tags:", depth + 1);
      if (m_hits > hits_before) m_flags.insert("encoded_blob");
    }
  }

  const MarkerSet& m_markers;
  std::set<std::string> m_flags;
  std::set<std::string> m_ids;
  std::set<std::string> m_hidden_kinds;
  std::size_t m_hits = 0;
};

} // namespace

ScanResult scan(const MarkerSet& markers, std::string_view text) { return Scanner(markers).run(text); }

std::vector<DecodedRun> decoded_runs(std::string_view text, std::size_t min_length) {
  std::vector<DecodedRun> runs;
  for_each_run(text, min_length, 4, is_base64_char, [&](std::string_view chars) {
    for (std::size_t offset = 0; offset < 4 && offset + min_length <= chars.size(); ++offset) {
      std::string decoded = as_text(decode_base64(chars.substr(offset)));
      if (decoded.empty()) continue;
      runs.push_back({Encoding::base64, chars.size() - offset, std::move(decoded)});
      return;
    }
  });
  for_each_run(text, min_length, 2, is_hex_char, [&](std::string_view chars) {
    for (std::size_t offset = 0; offset < 2 && offset + min_length <= chars.size(); ++offset) {
      std::string decoded = as_text(decode_hex(chars.substr(offset)));
      if (decoded.empty()) continue;
      runs.push_back({Encoding::hex, chars.size() - offset, std::move(decoded)});
      return;
    }
  });
  return runs;
}

} // namespace cordon::untrusted

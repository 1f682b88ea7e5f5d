#include "agentd/untrusted/taint.h"

#include <algorithm>
#include <cstring>
#include <utility>
#include <set>

#include "agentd/untrusted/hidden_unicode.h"
#include "agentd/untrusted/injection_markers.h"
#include "agentd/untrusted/scanner.h"

namespace cordon::untrusted {
namespace {

constexpr std::size_t min_substring_length = 4;
constexpr int max_argument_depth = 32;

bool is_word_byte(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || byte >= 0x80;
}

bool is_host_byte(char c) { return is_word_byte(c) || c == '-' || c == '_'; }

bool is_one_of(std::string_view set, char c) { return set.find(c) != std::string_view::npos; }

std::string lower_ascii(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::string_view trim(std::string_view text) {
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; };
  while (!text.empty() && space(text.front())) text.remove_prefix(1);
  while (!text.empty() && space(text.back())) text.remove_suffix(1);
  return text;
}

// The form untrusted texts and values are compared in.
std::string folded(std::string_view text) { return fold_for_matching(strip_hidden(text).text); }

enum class Shape { host, email, text };

// A value prepared for search: Knuth-Morris-Pratt, so that finding every occurrence in a text
// is one pass however the text and the value repeat themselves.
class Needle {
public:
  Needle(std::string text, Shape shape) : m_text(std::move(text)), m_shape(shape), m_failure(m_text.size(), 0) {
    std::size_t k = 0;
    for (std::size_t i = 1; i < m_text.size(); ++i) {
      while (k > 0 && m_text[i] != m_text[k]) k = m_failure[k - 1];
      if (m_text[i] == m_text[k]) ++k;
      m_failure[i] = k;
    }
  }

  bool empty() const { return m_text.empty(); }

  bool occurs_in(std::string_view haystack) const {
    if (m_text.empty() || m_text.size() > haystack.size()) return false;
    if (m_shape == Shape::text && m_text.size() < min_substring_length) return trim(haystack) == m_text;
    const std::size_t length = m_text.size();
    std::size_t matched = 0;
    std::size_t i = 0;
    while (i < haystack.size()) {
      if (matched == 0) { // skip quickly to the next possible start
        const void* next = std::memchr(haystack.data() + i, m_text[0], haystack.size() - i);
        if (next == nullptr) return false;
        i = static_cast<std::size_t>(static_cast<const char*>(next) - haystack.data());
      }
      while (matched > 0 && haystack[i] != m_text[matched]) matched = m_failure[matched - 1];
      if (haystack[i] == m_text[matched]) ++matched;
      ++i;
      if (matched == length) {
        if (bounded(haystack, i - length, i)) return true;
        matched = m_failure[matched - 1];
      }
    }
    return false;
  }

private:
  // Whether the occurrence [begin, end) stands on its own, by the rules of its shape.
  bool bounded(std::string_view haystack, std::size_t begin, std::size_t end) const {
    const char before = begin > 0 ? haystack[begin - 1] : ' ';
    const char after = end < haystack.size() ? haystack[end] : ' ';
    const char after_next = end + 1 < haystack.size() ? haystack[end + 1] : ' ';
    switch (m_shape) {
    case Shape::host:
      if (is_host_byte(before) || before == '.') return false;
      return !is_host_byte(after) && !(after == '.' && is_host_byte(after_next));
    case Shape::email:
      if (is_host_byte(before) || is_one_of(".%+", before)) return false;
      return !is_host_byte(after) && !(after == '.' && is_host_byte(after_next));
    case Shape::text:
      if (is_word_byte(m_text.front()) && is_word_byte(before)) return false;
      return !(is_word_byte(m_text.back()) && is_word_byte(after));
    }
    return false;
  }

  std::string m_text;
  Shape m_shape;
  std::vector<std::size_t> m_failure;
};

bool looks_like_email(std::string_view value) {
  const std::size_t at = value.find('@');
  if (at == 0 || at == std::string_view::npos || value.find('@', at + 1) != std::string_view::npos) return false;
  const std::string_view domain = value.substr(at + 1);
  const std::size_t dot = domain.find('.');
  if (dot == 0 || dot == std::string_view::npos || domain.back() == '.') return false;
  return std::none_of(value.begin(), value.end(), [](char c) { return static_cast<unsigned char>(c) <= 0x20; });
}

bool has_scheme(std::string_view value) {
  const std::size_t end = value.find("://");
  if (end == 0 || end == std::string_view::npos) return false;
  const auto scheme_char = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';
  };
  const std::string_view scheme = value.substr(0, end);
  const char first = scheme.front();
  return ((first >= 'a' && first <= 'z') || (first >= 'A' && first <= 'Z')) &&
         std::all_of(scheme.begin(), scheme.end(), scheme_char);
}

// Judges a value already reduced to what is compared (a host, or the trimmed value).
Provenance judge(std::string_view value, Shape shape, const TaintContext& context) {
  const Needle exact(lower_ascii(value), shape);
  if (exact.empty()) return Provenance::unknown;
  if (exact.occurs_in(context.task.text())) return Provenance::trusted;
  if (context.untrusted.saturated()) return Provenance::untrusted;
  const Needle loose(std::string(trim(folded(value))), shape);
  for (const std::string& span : context.untrusted.texts())
    if (loose.occurs_in(span)) return Provenance::untrusted;
  return Provenance::unknown;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decoded(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && hex_digit(text[i + 1]) >= 0 && hex_digit(text[i + 2]) >= 0) {
      out += static_cast<char>(hex_digit(text[i + 1]) * 16 + hex_digit(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

bool any_untrusted(const Json& value, bool is_url, const TaintContext& context, int depth) {
  if (depth > max_argument_depth) return true;
  if (value.is_string()) {
    const auto& text = value.get_ref<const std::string&>();
    return (is_url ? url_provenance(text, context) : provenance(text, context)) == Provenance::untrusted;
  }
  if (value.is_number_integer()) return provenance(value.dump(), context) == Provenance::untrusted;
  if (value.is_array() || value.is_object()) {
    for (const Json& element : value)
      if (any_untrusted(element, is_url, context, depth + 1)) return true;
  }
  return false;
}

} // namespace

std::string_view provenance_name(Provenance provenance) {
  switch (provenance) {
  case Provenance::trusted: return "trusted";
  case Provenance::untrusted: return "untrusted";
  case Provenance::unknown: return "unknown";
  }
  return "unknown";
}

void UntrustedSpans::add(std::string_view text) {
  ++m_count;
  if (m_saturated) return;
  const StrippedText stripped = strip_hidden(text);
  store(fold_for_matching(stripped.text));
  if (!stripped.hidden_ascii.empty()) store(fold_for_matching(stripped.hidden_ascii));
  for (const DecodedRun& run : decoded_runs(stripped.text)) store(folded(run.text));
}

void UntrustedSpans::store(std::string text) {
  if (m_saturated || text.empty()) return;
  if (text.size() > max_total_bytes - m_stored_bytes) {
    m_saturated = true;
    return;
  }
  m_stored_bytes += text.size();
  m_texts.push_back(std::move(text));
}

TrustedTask::TrustedTask(std::string_view text) : m_text(lower_ascii(text)) {}

Provenance provenance(std::string_view value, const TaintContext& context) {
  const std::string_view trimmed = trim(value);
  if (has_scheme(trimmed)) return url_provenance(trimmed, context);
  return judge(trimmed, looks_like_email(trimmed) ? Shape::email : Shape::text, context);
}

Provenance url_provenance(std::string_view url, const TaintContext& context) {
  const std::string host = url_host(url);
  if (host.empty()) return judge(trim(url), Shape::text, context);
  return judge(host, Shape::host, context);
}

std::string url_host(std::string_view url) {
  const std::string_view trimmed = trim(url);
  std::string_view rest = trimmed;
  if (has_scheme(trimmed)) {
    rest = trimmed.substr(trimmed.find("://") + 3);
  } else if (trimmed.starts_with("//")) {
    rest = trimmed.substr(2);
  } else if (trimmed.find("://") != std::string_view::npos) {
    return {};
  }
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#\\"));
  if (const std::size_t at = authority.rfind('@'); at != std::string_view::npos) authority.remove_prefix(at + 1);
  std::string_view host;
  if (authority.starts_with('[')) {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return {};
    host = authority.substr(1, close - 1);
  } else {
    host = authority.substr(0, authority.find(':'));
  }
  std::string decoded = lower_ascii(percent_decoded(host));
  while (!decoded.empty() && decoded.back() == '.') decoded.pop_back();
  const bool bad = std::any_of(decoded.begin(), decoded.end(), [](char c) {
    return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f || is_one_of("<>\"{}|^`%@/\\", c);
  });
  return bad ? std::string() : decoded;
}

std::vector<std::string> tainted_arguments(const Json& arguments, const std::vector<std::string>& sensitive_names,
                                           const TaintContext& context) {
  std::set<std::string> tainted;
  if (!arguments.is_object()) return {};
  for (const std::string& name : sensitive_names) {
    const auto found = arguments.find(name);
    if (found == arguments.end()) continue;
    const bool is_url = name == "url" || name.ends_with("_url");
    if (any_untrusted(*found, is_url, context, 0)) tainted.insert(name);
  }
  return {tainted.begin(), tainted.end()};
}

} // namespace cordon::untrusted

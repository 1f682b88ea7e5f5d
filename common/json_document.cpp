#include "common/json_document.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <locale.h>
#include <memory_resource>
#include <set>

#include "common/detail/jcs.h"
#include "common/detail/json_scan.h"
#include "common/utf8.h"

namespace cordon {
namespace {

using detail::quoted_name;

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "cordon: %s\n", what);
  std::abort();
}

int hex_digit_value(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void append_utf8(std::string& out, char32_t code_point) {
  if (code_point < 0x80) {
    out.push_back(static_cast<char>(code_point));
  } else if (code_point < 0x800) {
    out.push_back(static_cast<char>(0xc0 | (code_point >> 6)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3f)));
  } else if (code_point < 0x10000) {
    out.push_back(static_cast<char>(0xe0 | (code_point >> 12)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3f)));
  } else {
    out.push_back(static_cast<char>(0xf0 | (code_point >> 18)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 12) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3f)));
  }
}

// strtod in the "C" locale: what nlohmann's lexer computes for numbers std::from_chars reports
// as out of range (it returns no value for them).
double strtod_c(std::string_view digits) {
  static const locale_t c_locale = ::newlocale(LC_ALL_MASK, "C", nullptr);
  if (c_locale == nullptr) die("cannot create the C locale");
  const std::string terminated(digits);
  return ::strtod_l(terminated.c_str(), nullptr, c_locale);
}

} // namespace

// Parses by hand what nlohmann's lexer and parser accept, reporting each error where
// parse_json's SAX builder does: nlohmann counts every byte it has read, including a byte it
// read to find that a token ended badly and the end of input itself, and errors come in
// document order because both parsers stream. An error in a token where a different one is
// expected is reported at that token's end, as nlohmann reads the whole token first.
class JsonDocument::Parser {
public:
  Parser(std::string_view text, const JsonLimits& limits, JsonDocument& document)
      : m_text(text), m_limits(limits), m_document(document) {
    m_open.reserve(16);
    m_keys.reserve(32);
  }

  Result<void> run() {
    if (m_text.size() > m_limits.max_bytes) {
      return fail(Errc::too_large,
                  "JSON document is larger than " + std::to_string(m_limits.max_bytes) + " bytes");
    }
    // The nodes of a typical request take about one per eight bytes of text.
    m_document.m_nodes.reserve(std::min<std::size_t>(m_text.size() / 8 + 4, 16384));
    if (skip_byte_order_mark() && parse_values()) return ok();
    // parse_json checks UTF-8 before parsing, so that error wins wherever it is.
    if (const auto bad = utf8_first_invalid(m_text)) {
      return fail(Errc::invalid_argument, "JSON text is not UTF-8 at byte " + std::to_string(*bad));
    }
    if (!m_error) die("JsonDocument::Parser failed without an error");
    return tl::unexpected<Error>(std::move(*m_error));
  }

private:
  static_assert(sizeof(Node) == 24, "a node is three words");

  struct OpenContainer {
    std::size_t node;
    std::size_t first_key; // into m_keys
    bool object;
    bool keys_in_set;      // an object with many members checks duplicates in m_key_sets
  };
  struct StringToken {
    std::string_view text;
    bool escaped;          // `text` is m_scratch
    bool utf16_order;      // holds a character that sorts differently in UTF-16
  };
  struct NumberToken {
    std::size_t start;
    std::size_t end;
    bool negative;
    bool integral;         // no fraction, no exponent
  };

  // Objects with up to this many members look for a duplicate by comparing with each earlier
  // key; larger ones use an ordered set (a hash set would let chosen keys collide).
  static constexpr std::size_t linear_key_check_limit = 16;

  // The next byte, or -1 at the end.
  int peek() const {
    return m_position < m_text.size() ? static_cast<unsigned char>(m_text[m_position]) : -1;
  }
  int byte_at(std::size_t at) const {
    return at < m_text.size() ? static_cast<unsigned char>(m_text[at]) : -1;
  }
  bool digit_at(std::size_t at) const {
    const int c = byte_at(at);
    return c >= '0' && c <= '9';
  }

  void skip_whitespace() {
    while (m_position < m_text.size()) {
      const char c = m_text[m_position];
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return;
      ++m_position;
    }
  }

  bool malformed(std::size_t position) {
    m_error = Error{Errc::invalid_argument, "malformed JSON near byte " + std::to_string(position)};
    return false;
  }

  // run() replaces this with the message naming the first bad byte.
  bool not_utf8() {
    m_error = Error{Errc::invalid_argument, "JSON text is not UTF-8"};
    return false;
  }

  // nlohmann skips a UTF-8 byte order mark at the start.
  bool skip_byte_order_mark() {
    if (byte_at(0) != 0xef) return true;
    if (byte_at(1) != 0xbb) return malformed(2);
    if (byte_at(2) != 0xbf) return malformed(3);
    m_position = 3;
    return true;
  }

  bool parse_values() {
    bool expect_value = true;
    for (;;) {
      if (expect_value) {
        if (!value(expect_value)) return false;
        continue;
      }
      if (m_open.empty()) return finish();
      skip_whitespace();
      const OpenContainer& top = m_open.back();
      const int c = peek();
      if (c == ',') {
        ++m_position;
        if (top.object && !member_key()) return false;
        expect_value = true;
      } else if (c == (top.object ? '}' : ']')) {
        ++m_position;
        close();
      } else {
        return unexpected_token();
      }
    }
  }

  // Parses a scalar, or opens a container; `expect_value` says whether a value comes next.
  bool value(bool& expect_value) {
    skip_whitespace();
    expect_value = false;
    switch (peek()) {
    case '{':
    case '[': {
      const bool object = peek() == '{';
      if (!open(object ? JsonType::object : JsonType::array)) return false;
      skip_whitespace();
      if (peek() == (object ? '}' : ']')) {
        ++m_position;
        close();
        return true;
      }
      expect_value = true;
      return !object || member_key();
    }
    case '"': {
      StringToken token{};
      if (!scan_string(token)) return false;
      add_string(token, false);
      return true;
    }
    case 't': return scan_literal("true") && add_literal(JsonType::boolean, true);
    case 'f': return scan_literal("false") && add_literal(JsonType::boolean, false);
    case 'n': return scan_literal("null") && add_literal(JsonType::null, false);
    case '-': case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7': case '8':
    case '9': {
      NumberToken token{};
      return scan_number(token) && add_number(token);
    }
    default: return unexpected_token();
    }
  }

  // After the top-level value only whitespace may follow. nlohmann takes a NUL byte outside a
  // string for the end of input, so whatever follows one is ignored (but was checked as UTF-8).
  bool finish() {
    skip_whitespace();
    if (m_position == m_text.size()) return true;
    if (m_text[m_position] == '\0') {
      if (utf8_first_invalid(m_text.substr(m_position))) return not_utf8();
      return true;
    }
    return unexpected_token();
  }

  // `"key"` and the `:` after it.
  bool member_key() {
    skip_whitespace();
    if (peek() != '"') return unexpected_token();
    StringToken token{};
    if (!scan_string(token)) return false;
    const std::string_view key = add_string(token, true);
    if (!check_new_key(key)) return false;
    skip_whitespace();
    if (peek() != ':') return unexpected_token();
    ++m_position;
    return true;
  }

  // Reports the token at m_position, which the grammar does not allow there. nlohmann first
  // reads the whole token, so a malformed one is reported where it goes wrong.
  bool unexpected_token() {
    switch (peek()) {
    case '"': {
      StringToken ignored{};
      if (!scan_string(ignored)) return false;
      break;
    }
    case 't': if (!scan_literal("true")) return false; break;
    case 'f': if (!scan_literal("false")) return false; break;
    case 'n': if (!scan_literal("null")) return false; break;
    case '-': case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7': case '8':
    case '9': {
      NumberToken ignored{};
      if (!scan_number(ignored)) return false;
      break;
    }
    default: ++m_position; // one byte, or the end of input, which nlohmann counts as one
    }
    return malformed(m_position);
  }

  bool scan_literal(std::string_view literal) {
    for (std::size_t i = 1; i < literal.size(); ++i) {
      if (byte_at(m_position + i) != literal[i]) return malformed(m_position + i + 1);
    }
    m_position += literal.size();
    return true;
  }

  bool scan_number(NumberToken& token) {
    std::size_t at = m_position;
    token.start = at;
    token.negative = m_text[at] == '-';
    token.integral = true;
    if (token.negative) ++at;
    if (byte_at(at) == '0') {
      ++at;
    } else if (digit_at(at)) {
      while (digit_at(at)) ++at;
    } else {
      return malformed(at + 1);
    }
    if (byte_at(at) == '.') {
      token.integral = false;
      if (!digit_at(++at)) return malformed(at + 1);
      while (digit_at(at)) ++at;
    }
    if (byte_at(at) == 'e' || byte_at(at) == 'E') {
      token.integral = false;
      ++at;
      if (byte_at(at) == '+' || byte_at(at) == '-') ++at;
      if (!digit_at(at)) return malformed(at + 1);
      while (digit_at(at)) ++at;
    }
    token.end = m_position = at;
    return true;
  }

  // A string token from the opening quote at m_position. Text without escapes is a view of the
  // input; text with escapes is decoded into m_scratch.
  bool scan_string(StringToken& token) {
    const std::size_t start = m_position + 1;
    std::size_t at = start;
    std::size_t copied = start; // with escapes: the input before this is in m_scratch
    bool escaped = false;
    bool utf16_order = false;
    for (;;) {
      at = detail::skip_plain_string_bytes(m_text, at);
      if (at >= m_text.size()) return malformed(m_text.size() + 1);
      const auto c = static_cast<unsigned char>(m_text[at]);
      if (c == '"') break;
      if (c >= 0x80) {
        const std::size_t length = utf8_sequence_length(m_text, at);
        if (length == 0) return not_utf8();
        utf16_order = utf16_order || detail::sorts_differently_in_utf16(m_text.substr(at, length));
        at += length;
        continue;
      }
      if (c < 0x20) return malformed(at + 1);
      if (!escaped) m_scratch.clear();
      escaped = true;
      m_scratch.append(m_text.data() + copied, at - copied);
      const std::size_t decoded = m_scratch.size();
      at = unescape(at);
      if (at == 0) return false;
      utf16_order = utf16_order || detail::sorts_differently_in_utf16(std::string_view(m_scratch).substr(decoded));
      copied = at;
    }
    m_position = at + 1;
    if (!escaped) {
      token = StringToken{m_text.substr(start, at - start), false, utf16_order};
      return true;
    }
    m_scratch.append(m_text.data() + copied, at - copied);
    token = StringToken{m_scratch, true, utf16_order};
    return true;
  }

  std::size_t escape_error(std::size_t position) {
    malformed(position);
    return 0;
  }

  // Appends the escape at m_text[at] (a backslash) to m_scratch. Returns the position after it,
  // or 0 on error.
  std::size_t unescape(std::size_t at) {
    static constexpr std::string_view simple_from = "\"\\/bfnrt";
    static constexpr std::string_view simple_to = "\"\\/\b\f\n\r\t";
    const int kind = byte_at(at + 1);
    if (kind != 'u') {
      const std::size_t which = kind < 0 ? std::string_view::npos : simple_from.find(static_cast<char>(kind));
      if (which == std::string_view::npos) return escape_error(std::min(at + 1, m_text.size()) + 1);
      m_scratch.push_back(simple_to[which]);
      return at + 2;
    }
    char32_t code_point = 0;
    if (!hex_quad(at + 2, code_point)) return 0;
    at += 6;
    if (code_point >= 0xdc00 && code_point <= 0xdfff) return escape_error(at);
    if (code_point >= 0xd800 && code_point <= 0xdbff) {
      if (byte_at(at) != '\\') return escape_error(std::min(at, m_text.size()) + 1);
      if (byte_at(at + 1) != 'u') return escape_error(std::min(at + 1, m_text.size()) + 1);
      char32_t low = 0;
      if (!hex_quad(at + 2, low)) return 0;
      at += 6;
      if (low < 0xdc00 || low > 0xdfff) return escape_error(at);
      code_point = 0x10000 + ((code_point - 0xd800) << 10) + (low - 0xdc00);
    }
    append_utf8(m_scratch, code_point);
    return at;
  }

  // The four hex digits of a \u escape at m_text[at].
  bool hex_quad(std::size_t at, char32_t& value) {
    value = 0;
    for (std::size_t i = at; i < at + 4; ++i) {
      const int digit = hex_digit_value(byte_at(i));
      if (digit < 0) return malformed(std::min(i, m_text.size()) + 1);
      value = value << 4 | static_cast<char32_t>(digit);
    }
    return true;
  }

  bool open(JsonType type) {
    if (m_open.size() >= static_cast<std::size_t>(std::max(m_limits.max_depth, 0))) {
      m_error = Error{Errc::invalid_argument,
                      "JSON nesting is deeper than " + std::to_string(m_limits.max_depth)};
      return false;
    }
    ++m_position;
    add_node(type);
    m_open.push_back(OpenContainer{m_document.m_nodes.size() - 1, m_keys.size(), type == JsonType::object, false});
    return true;
  }

  void close() {
    const OpenContainer& top = m_open.back();
    m_document.m_nodes[top.node].extent = m_document.m_nodes.size();
    m_keys.resize(top.first_key);
    if (top.keys_in_set) m_key_sets[m_open.size() - 1].clear();
    m_open.pop_back();
  }

  // Appends a node, counted as a member of the enclosing object if it is a key or as an element
  // of the enclosing array; the caller sets its value. (Built in place: copying a node built
  // field by field costs a store-forwarding stall per node.)
  Node& add_node(JsonType type, bool key = false) {
    if (!m_open.empty() && (key || !m_open.back().object)) ++m_document.m_nodes[m_open.back().node].count;
    Node& node = m_document.m_nodes.emplace_back();
    node.type = type;
    return node;
  }

  bool add_literal(JsonType type, bool value) {
    add_node(type).boolean = value;
    return true;
  }

  // Returns the stored text, which lives as long as the document.
  std::string_view add_string(const StringToken& token, bool key) {
    const char* chars = token.escaped ? store(token.text) : token.text.data();
    Node& node = add_node(JsonType::string, key);
    node.chars = chars;
    node.extent = token.text.size();
    node.escaped = token.escaped;
    node.utf16_order = token.utf16_order;
    return {chars, token.text.size()};
  }

  // nlohmann's classification: a literal without fraction or exponent is unsigned if it is not
  // negative and fits uint64, signed if negative and fits int64, otherwise a double; a double
  // beyond the finite range is an error.
  bool add_number(const NumberToken& token) {
    const char* first = m_text.data() + token.start;
    const char* last = m_text.data() + token.end;
    if (token.integral && token.negative) {
      std::int64_t value = 0;
      if (std::from_chars(first, last, value).ec == std::errc()) {
        add_node(JsonType::integer).integer = value;
        return true;
      }
    } else if (token.integral) {
      std::uint64_t value = 0;
      if (std::from_chars(first, last, value).ec == std::errc()) {
        add_node(JsonType::unsigned_integer).unsigned_integer = value;
        return true;
      }
    }
    double value = 0;
    if (std::from_chars(first, last, value).ec == std::errc::result_out_of_range) {
      value = strtod_c(std::string_view(first, static_cast<std::size_t>(last - first)));
    }
    if (!std::isfinite(value)) return malformed(token.end);
    add_node(JsonType::floating).floating = value;
    return true;
  }

  // Copies decoded text into the document's blocks, which never move.
  const char* store(std::string_view decoded) {
    if (decoded.size() > m_block_left) {
      const std::size_t size = std::max(decoded.size(), std::min<std::size_t>(m_text.size(), 4096));
      m_document.m_blocks.push_back(std::make_unique_for_overwrite<char[]>(size));
      m_block_next = m_document.m_blocks.back().get();
      m_block_left = size;
    }
    char* stored = m_block_next;
    std::memcpy(stored, decoded.data(), decoded.size());
    m_block_next += decoded.size();
    m_block_left -= decoded.size();
    return stored;
  }

  // parse_json's builder refuses a key its object already holds, as soon as it reads the key.
  bool check_new_key(std::string_view key) {
    OpenContainer& top = m_open.back();
    const std::size_t depth = m_open.size() - 1;
    bool inserted = true;
    if (top.keys_in_set) {
      inserted = m_key_sets[depth].insert(key).second;
    } else {
      const auto first = m_keys.begin() + static_cast<std::ptrdiff_t>(top.first_key);
      inserted = std::find(first, m_keys.end(), key) == m_keys.end();
      m_keys.emplace_back(key.data(), key.size());
      if (inserted && m_keys.size() - top.first_key > linear_key_check_limit) {
        if (m_key_sets.size() <= depth) m_key_sets.resize(depth + 1);
        m_key_sets[depth].insert(m_keys.begin() + static_cast<std::ptrdiff_t>(top.first_key), m_keys.end());
        m_keys.resize(top.first_key);
        top.keys_in_set = true;
      }
    }
    if (inserted) return true;
    m_error = Error{Errc::invalid_argument, "duplicate object key " + quoted_name(key)};
    return false;
  }

  std::string_view m_text;
  JsonLimits m_limits;
  JsonDocument& m_document;
  std::size_t m_position = 0;
  std::optional<Error> m_error;
  // Scratch memory for the open containers and their keys: a typical request needs none from
  // the heap.
  std::array<std::byte, 2048> m_scratch_buffer;
  std::pmr::monotonic_buffer_resource m_scratch_memory{m_scratch_buffer.data(), m_scratch_buffer.size()};
  std::pmr::vector<OpenContainer> m_open{&m_scratch_memory};
  std::pmr::vector<std::string_view> m_keys{&m_scratch_memory}; // of open objects checked linearly
  std::vector<std::set<std::string_view>> m_key_sets; // by depth
  std::string m_scratch;
  char* m_block_next = nullptr;
  std::size_t m_block_left = 0;
};

Result<JsonDocument> JsonDocument::parse(std::string_view text, const JsonLimits& limits) {
  JsonDocument document;
  try {
    Parser parser(text, limits, document);
    CORDON_TRY_VOID(parser.run());
  } catch (const std::bad_alloc&) {
    return fail(Errc::too_large, "JSON document does not fit in memory");
  }
  return document;
}

// --- values --------------------------------------------------------------------------------

bool JsonValue::is_number() const {
  const JsonType t = type();
  return t == JsonType::integer || t == JsonType::unsigned_integer || t == JsonType::floating;
}

bool JsonValue::boolean() const {
  if (type() != JsonType::boolean) die("JsonValue::boolean() of a value that is not a boolean");
  return m_document->m_nodes[m_node].boolean;
}

std::int64_t JsonValue::integer() const {
  if (type() != JsonType::integer) die("JsonValue::integer() of a value that is not a signed integer");
  return m_document->m_nodes[m_node].integer;
}

std::uint64_t JsonValue::unsigned_integer() const {
  if (type() != JsonType::unsigned_integer) die("JsonValue::unsigned_integer() of a value that is not one");
  return m_document->m_nodes[m_node].unsigned_integer;
}

double JsonValue::floating() const {
  if (type() != JsonType::floating) die("JsonValue::floating() of a value that is not a double");
  return m_document->m_nodes[m_node].floating;
}

std::string_view JsonValue::string() const {
  if (type() != JsonType::string) die("JsonValue::string() of a value that is not a string");
  return m_document->text(m_node);
}

std::size_t JsonValue::size() const {
  return is_array() || is_object() ? m_document->m_nodes[m_node].count : 0;
}

std::optional<JsonValue> JsonValue::find(std::string_view key) const {
  for (const JsonMember& member : members()) {
    if (member.key == key) return member.value;
  }
  return std::nullopt;
}

std::optional<JsonValue> JsonValue::at(std::size_t index) const {
  if (index >= size() || !is_array()) return std::nullopt;
  auto element = elements().begin();
  std::advance(element, static_cast<std::ptrdiff_t>(index));
  return *element;
}

JsonChildRange<JsonMember> JsonValue::members() const {
  const std::size_t end = is_object() ? m_document->m_nodes[m_node].extent : m_node + 1;
  return {JsonChildIterator<JsonMember>(m_document, m_node + 1), JsonChildIterator<JsonMember>(m_document, end)};
}

JsonChildRange<JsonValue> JsonValue::elements() const {
  const std::size_t end = is_array() ? m_document->m_nodes[m_node].extent : m_node + 1;
  return {JsonChildIterator<JsonValue>(m_document, m_node + 1), JsonChildIterator<JsonValue>(m_document, end)};
}

// --- canonical form ------------------------------------------------------------------------

// Writes without recursion, so that no document depth can exhaust the stack: each open
// container is a frame, and an object's members, sorted, wait in m_members. Bytes go straight
// into `out` through a raw cursor; room() grows it, once per value rather than once per byte.
class CanonicalDocumentWriter {
public:
  static void append(std::string& out, JsonValue value, std::span<const JsonReplacement> replacements) {
    CanonicalDocumentWriter writer(out, *value.m_document, replacements);
    writer.write(value.m_node);
  }

private:
  using Node = JsonDocument::Node;
  struct Member {
    std::uint64_t prefix; // the key's first eight bytes, big-endian, zero-padded
    std::string_view key;
    std::size_t value;
    bool escaped;
    bool utf16_order;
  };
  // An array's frame counts node ids from its first element to its extent; an object's counts
  // positions in m_members.
  struct Frame {
    std::size_t base;
    std::size_t next;
    std::size_t end;
    bool object;
  };

  CanonicalDocumentWriter(std::string& out, const JsonDocument& document,
                          std::span<const JsonReplacement> replacements)
      : m_out(out), m_document(document), m_replacements(replacements) {
    m_frames.reserve(8);
    m_members.reserve(32);
  }

  void write(std::size_t root) {
    const std::size_t start = m_out.size();
    m_out.resize(start + 256);
    m_raw.cursor = m_out.data() + start;
    m_end = m_out.data() + m_out.size();
    begin(root);
    while (!m_frames.empty()) {
      Frame& frame = m_frames.back();
      room(2);
      if (frame.next == frame.end) {
        m_raw.push_back(frame.object ? '}' : ']');
        if (frame.object) m_members.resize(frame.base);
        m_frames.pop_back();
        continue;
      }
      if (frame.next != frame.base) m_raw.push_back(',');
      std::size_t node = frame.next;
      if (frame.object) {
        const Member& member = m_members[frame.next++];
        write_string(member.key, member.escaped, 1);
        m_raw.push_back(':');
        node = member.value;
      } else {
        frame.next = m_document.skip(node);
      }
      begin(node); // may add a frame, so `frame` is not used after this
    }
    m_out.resize(static_cast<std::size_t>(m_raw.cursor - m_out.data()));
  }

  // Makes room for `bytes` more bytes at the cursor.
  void room(std::size_t bytes) {
    if (static_cast<std::size_t>(m_end - m_raw.cursor) < bytes) grow(bytes);
  }

  [[gnu::noinline]] void grow(std::size_t bytes) {
    const auto used = static_cast<std::size_t>(m_raw.cursor - m_out.data());
    m_out.resize(std::max(2 * m_out.size(), used + bytes));
    m_raw.cursor = m_out.data() + used;
    m_end = m_out.data() + m_out.size();
  }

  // Writes a scalar, or the opening of a container and its frame.
  void begin(std::size_t index) {
    if (const JsonReplacement* replacement = replacement_for(index)) {
      room(detail::max_string_bytes(replacement->text.size()));
      detail::append_string(m_raw, replacement->text, detail::InvalidUtf8::replace);
      return;
    }
    const Node& node = m_document.m_nodes[index];
    if (node.type == JsonType::string) return write_string(m_document.text(index), node.escaped, 0);
    room(detail::max_number_bytes);
    switch (node.type) {
    case JsonType::null: m_raw.append("null"); return;
    case JsonType::boolean: m_raw.append(node.boolean ? "true" : "false"); return;
    case JsonType::integer: detail::append_integer(m_raw, node.integer); return;
    case JsonType::unsigned_integer: detail::append_integer(m_raw, node.unsigned_integer); return;
    case JsonType::floating: detail::append_double(m_raw, node.floating); return;
    case JsonType::array:
      m_raw.push_back('[');
      m_frames.push_back(Frame{index + 1, index + 1, node.extent, false});
      return;
    case JsonType::object: begin_object(index, node); return;
    case JsonType::string: return;
    }
  }

  void begin_object(std::size_t index, const Node& node) {
    m_raw.push_back('{');
    const std::size_t base = m_members.size();
    std::size_t key = index + 1;
    for (std::size_t i = 0; i < node.count; ++i) {
      const Node& key_node = m_document.m_nodes[key];
      const std::string_view text = m_document.text(key);
      m_members.push_back(Member{key_prefix(text), text, key + 1, key_node.escaped, key_node.utf16_order});
      key = m_document.skip(key + 1);
    }
    const auto first = m_members.begin() + static_cast<std::ptrdiff_t>(base);
    const bool utf16 = std::any_of(first, m_members.end(), [](const Member& member) { return member.utf16_order; });
    if (utf16) {
      std::sort(first, m_members.end(),
                [](const Member& a, const Member& b) { return detail::utf16_less(a.key, b.key); });
    } else {
      // Keys mostly differ in their first eight bytes, which compare as one integer.
      const auto by_bytes = [](const Member& a, const Member& b) {
        return a.prefix != b.prefix ? a.prefix < b.prefix : a.key < b.key;
      };
      if (!std::is_sorted(first, m_members.end(), by_bytes)) std::sort(first, m_members.end(), by_bytes);
    }
    m_frames.push_back(Frame{base, base, m_members.size(), true});
  }

  // Ordering keys by this number, then by their bytes, orders them by their bytes: the first
  // difference within eight bytes decides both ways, and a key that ends early (zero padding)
  // is either a prefix of the other or ties and falls through to the full comparison.
  static std::uint64_t key_prefix(std::string_view key) {
    std::uint64_t bytes = 0;
    std::memcpy(&bytes, key.data(), std::min<std::size_t>(key.size(), sizeof bytes));
    return __builtin_bswap64(bytes); // the platform is little-endian (x86-64, AArch64)
  }

  // A string without escapes in the input holds no byte that canonical form escapes, so its
  // canonical form is its input with the quotes around it. Makes room for `extra` bytes after it.
  void write_string(std::string_view text, bool escaped, std::size_t extra) {
    if (escaped) {
      room(detail::max_string_bytes(text.size()) + extra);
      detail::append_string(m_raw, text, detail::InvalidUtf8::replace);
    } else {
      room(text.size() + 2 + extra);
      m_raw.append(text.data() - 1, text.size() + 2);
    }
  }

  const JsonReplacement* replacement_for(std::size_t node) const {
    if (m_replacements.empty()) return nullptr;
    const auto it = std::lower_bound(m_replacements.begin(), m_replacements.end(), node,
                                     [](const JsonReplacement& r, std::size_t n) { return r.node < n; });
    return it != m_replacements.end() && it->node == node ? &*it : nullptr;
  }

  std::string& m_out;
  detail::RawOutput m_raw{nullptr};
  const char* m_end = nullptr; // of the room in m_out
  const JsonDocument& m_document;
  std::span<const JsonReplacement> m_replacements;
  // As in the parser, scratch memory that a typical document does not outgrow.
  std::array<std::byte, 2048> m_scratch_buffer;
  std::pmr::monotonic_buffer_resource m_scratch_memory{m_scratch_buffer.data(), m_scratch_buffer.size()};
  std::pmr::vector<Frame> m_frames{&m_scratch_memory};
  std::pmr::vector<Member> m_members{&m_scratch_memory};
};

void append_canonical(std::string& out, JsonValue value, std::span<const JsonReplacement> replacements) {
  CanonicalDocumentWriter::append(out, value, replacements);
}

Result<void> require_known_fields(JsonValue object, std::initializer_list<std::string_view> allowed) {
  if (!object.is_object()) return fail(Errc::invalid_argument, "expected a JSON object");
  std::optional<std::string_view> unknown;
  for (const JsonMember& member : object.members()) {
    if (std::find(allowed.begin(), allowed.end(), member.key) != allowed.end()) continue;
    if (!unknown || member.key < *unknown) unknown = member.key;
  }
  if (unknown) return fail(Errc::unknown_field, "unknown field " + quoted_name(*unknown));
  return ok();
}

} // namespace cordon

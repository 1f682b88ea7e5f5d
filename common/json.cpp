#include "common/json.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <new>
#include <optional>
#include <vector>

#include "common/utf8.h"

namespace cordon {
namespace {

// Key names from untrusted input appear in error messages quoted, escaped and cut to this many
// bytes, so a hostile key can neither flood a log nor inject control characters into it.
constexpr std::size_t max_quoted_name_bytes = 64;

std::string quoted_name(std::string_view name) {
  std::string out;
  const bool cut = name.size() > max_quoted_name_bytes;
  append_canonical_string(out, cut ? utf8_prefix(name, max_quoted_name_bytes) : name);
  if (cut) out += "...";
  return out;
}

// Builds a document from nlohmann's SAX events. Unlike the stock DOM builder, which keeps the
// last of duplicate keys, it refuses them, and it refuses nesting deeper than `max_depth`
// containers (so a scalar is depth 0 and `[]` depth 1).
class DocumentBuilder {
public:
  using number_integer_t = Json::number_integer_t;
  using number_unsigned_t = Json::number_unsigned_t;
  using number_float_t = Json::number_float_t;
  using string_t = Json::string_t;
  using binary_t = Json::binary_t;

  DocumentBuilder(Json& root, int max_depth) : m_root(root), m_max_depth(max_depth) {}

  bool null() { return place(nullptr) != nullptr; }
  bool boolean(bool value) { return place(value) != nullptr; }
  bool number_integer(number_integer_t value) { return place(value) != nullptr; }
  bool number_unsigned(number_unsigned_t value) { return place(value) != nullptr; }
  bool number_float(number_float_t value, const string_t& /*text*/) {
    return place(value) != nullptr;
  }
  bool string(string_t& value) { return place(std::move(value)) != nullptr; }
  bool binary(binary_t& /*value*/) {
    m_error = Error{Errc::invalid_argument, "JSON text cannot hold binary values"};
    return false;
  }
  bool start_object(std::size_t /*elements*/) { return open(Json::value_t::object); }
  bool start_array(std::size_t /*elements*/) { return open(Json::value_t::array); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }

  bool key(string_t& name) {
    auto& members = m_stack.back()->get_ref<Json::object_t&>();
    auto [member, inserted] = members.emplace(std::move(name), nullptr);
    if (!inserted) {
      m_error = Error{Errc::invalid_argument, "duplicate object key " + quoted_name(member->first)};
      return false;
    }
    m_member = &member->second;
    return true;
  }

  // nlohmann's message quotes the offending input, which may be secret; only the offset is kept.
  bool parse_error(std::size_t position, const std::string& /*last_token*/,
                   const nlohmann::detail::exception& /*error*/) {
    m_error = Error{Errc::invalid_argument, "malformed JSON near byte " + std::to_string(position)};
    return false;
  }

  // Set whenever a callback returned false.
  const std::optional<Error>& error() const { return m_error; }

private:
  // Stores a value where the grammar puts it and returns its address. Addresses on m_stack
  // stay valid: a container only grows while none of its elements is open.
  template <class Value>
  Json* place(Value&& value) {
    if (m_stack.empty()) {
      m_root = Json(std::forward<Value>(value));
      return &m_root;
    }
    Json& parent = *m_stack.back();
    if (parent.is_array()) {
      auto& elements = parent.get_ref<Json::array_t&>();
      elements.emplace_back(std::forward<Value>(value));
      return &elements.back();
    }
    *m_member = Json(std::forward<Value>(value));
    return m_member;
  }

  bool open(Json::value_t type) {
    if (m_stack.size() >= static_cast<std::size_t>(std::max(m_max_depth, 0))) {
      m_error = Error{Errc::invalid_argument,
                      "JSON nesting is deeper than " + std::to_string(m_max_depth)};
      return false;
    }
    m_stack.push_back(place(type));
    return true;
  }

  bool close() {
    m_stack.pop_back();
    return true;
  }

  Json& m_root;
  int m_max_depth;
  std::vector<Json*> m_stack;
  Json* m_member = nullptr;
  std::optional<Error> m_error;
};

// True when UTF-8 byte order (std::map's order) may differ from UTF-16 code unit order: only
// characters U+E000..U+FFFF (lead byte 0xEE, 0xEF) and above U+FFFF (0xF0..0xF4) sort
// differently, so keys without any byte >= 0xEE are already in canonical order.
bool needs_utf16_sort(const Json::object_t& members) {
  for (const auto& member : members) {
    for (const char c : member.first) {
      if (static_cast<unsigned char>(c) >= 0xee) return true;
    }
  }
  return false;
}

// The first UTF-16 code unit of a code point.
char32_t first_utf16_unit(char32_t code_point) {
  return code_point >= 0x10000 ? 0xd800 + ((code_point - 0x10000) >> 10) : code_point;
}

// Orders strings by their UTF-16 code units (RFC 8785 §3.2.3).
bool utf16_less(std::string_view a, std::string_view b) {
  std::size_t i = 0;
  std::size_t j = 0;
  while (i < a.size() && j < b.size()) {
    const char32_t x = utf8_decode_lenient(a, i);
    const char32_t y = utf8_decode_lenient(b, j);
    if (x == y) continue;
    const char32_t x_unit = first_utf16_unit(x);
    const char32_t y_unit = first_utf16_unit(y);
    // Equal first units mean two supplementary characters, whose code point order is their
    // UTF-16 order.
    return x_unit != y_unit ? x_unit < y_unit : x < y;
  }
  return i == a.size() && j < b.size();
}

enum class InvalidUtf8 { refuse, replace };

// Appends `text` as a JCS string literal. Returns false, having appended part of it, when the
// text is not UTF-8 and the policy is `refuse`; `replace` writes U+FFFD per ill-formed byte.
bool append_string(std::string& out, std::string_view text, InvalidUtf8 policy) {
  static constexpr std::string_view hex_digits = "0123456789abcdef";
  out.push_back('"');
  std::size_t run_start = 0;
  std::size_t i = 0;
  const auto flush_run = [&] { out.append(text.data() + run_start, i - run_start); };
  while (i < text.size()) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte >= 0x20 && byte < 0x80 && byte != '"' && byte != '\\') {
      ++i;
      continue;
    }
    if (byte >= 0x80) {
      const std::size_t length = utf8_sequence_length(text, i);
      if (length != 0) {
        i += length;
        continue;
      }
      if (policy == InvalidUtf8::refuse) return false;
      flush_run();
      out.append("\xef\xbf\xbd");
    } else {
      flush_run();
      switch (byte) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\b': out.append("\\b"); break;
      case '\f': out.append("\\f"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      default:
        out.append("\\u00");
        out.push_back(hex_digits[byte >> 4]);
        out.push_back(hex_digits[byte & 0x0f]);
      }
    }
    run_start = ++i;
  }
  flush_run();
  out.push_back('"');
  return true;
}

template <class Integer>
void append_integer(std::string& out, Integer value) {
  std::array<char, 24> buffer{};
  const auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  out.append(buffer.data(), result.ptr);
}

// ECMAScript Number::toString (ECMA-262 §6.1.6.1.20) for a finite value, as RFC 8785 §3.2.2.3
// requires. std::to_chars gives the shortest digits that round-trip, nearest to the value,
// which is exactly the digit string ECMAScript specifies; only the layout differs.
void append_double(std::string& out, double value) {
  if (value == 0) { // +0 and -0 both print as "0"
    out.push_back('0');
    return;
  }
  if (value < 0) {
    out.push_back('-');
    value = -value;
  }
  std::array<char, 32> buffer{};
  const auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value,
                                    std::chars_format::scientific);
  const std::string_view scientific(buffer.data(),
                                    static_cast<std::size_t>(result.ptr - buffer.data()));
  const std::size_t e_position = scientific.find('e');

  std::array<char, 20> digits{};
  int k = 0; // digit count
  for (const char c : scientific.substr(0, e_position)) {
    if (c != '.') digits[static_cast<std::size_t>(k++)] = c;
  }
  const std::string_view exponent_text = scientific.substr(e_position + 2);
  int exponent = 0;
  std::from_chars(exponent_text.data(), exponent_text.data() + exponent_text.size(), exponent);
  if (scientific[e_position + 1] == '-') exponent = -exponent;
  const int n = exponent + 1; // value = digits × 10^(n−k)
  const auto digit_range = [&](int from, int to) {
    out.append(digits.data() + from, static_cast<std::size_t>(to - from));
  };

  if (k <= n && n <= 21) {
    digit_range(0, k);
    out.append(static_cast<std::size_t>(n - k), '0');
  } else if (0 < n && n <= 21) {
    digit_range(0, n);
    out.push_back('.');
    digit_range(n, k);
  } else if (-6 < n && n <= 0) {
    out.append("0.");
    out.append(static_cast<std::size_t>(-n), '0');
    digit_range(0, k);
  } else {
    digit_range(0, 1);
    if (k > 1) {
      out.push_back('.');
      digit_range(1, k);
    }
    out.push_back('e');
    out.push_back(n - 1 < 0 ? '-' : '+');
    append_integer(out, n - 1 < 0 ? 1 - n : n - 1);
  }
}

// Writes canonical JSON into one string. On failure it records why and stops; the caller
// truncates the partial output.
class CanonicalWriter {
public:
  explicit CanonicalWriter(std::string& out) : m_out(out) {}

  bool write(const Json& value) {
    switch (value.type()) {
    case Json::value_t::null: m_out.append("null"); return true;
    case Json::value_t::boolean: m_out.append(value.get<bool>() ? "true" : "false"); return true;
    case Json::value_t::number_integer:
      append_integer(m_out, value.get<Json::number_integer_t>());
      return true;
    case Json::value_t::number_unsigned:
      append_integer(m_out, value.get<Json::number_unsigned_t>());
      return true;
    case Json::value_t::number_float: return write_double(value.get<double>());
    case Json::value_t::string: return write_string(value.get_ref<const Json::string_t&>());
    case Json::value_t::array: return write_array(value.get_ref<const Json::array_t&>());
    case Json::value_t::object: return write_object(value.get_ref<const Json::object_t&>());
    case Json::value_t::binary:
    case Json::value_t::discarded: break;
    }
    return refuse("binary and discarded values have no JSON form");
  }

  std::string_view error() const { return m_error; }

private:
  bool refuse(std::string_view why) {
    m_error = why;
    return false;
  }

  bool write_double(double value) {
    if (!std::isfinite(value)) return refuse("NaN and infinity have no JSON form");
    append_double(m_out, value);
    return true;
  }

  bool write_string(std::string_view text) {
    if (!append_string(m_out, text, InvalidUtf8::refuse)) return refuse("string is not UTF-8");
    return true;
  }

  bool write_array(const Json::array_t& elements) {
    m_out.push_back('[');
    for (std::size_t i = 0; i < elements.size(); ++i) {
      if (i != 0) m_out.push_back(',');
      if (!write(elements[i])) return false;
    }
    m_out.push_back(']');
    return true;
  }

  bool write_object(const Json::object_t& members) {
    m_out.push_back('{');
    bool first = true;
    const auto write_member = [&](const Json::object_t::value_type& member) {
      if (!first) m_out.push_back(',');
      first = false;
      if (!write_string(member.first)) return false;
      m_out.push_back(':');
      return write(member.second);
    };
    if (needs_utf16_sort(members)) {
      std::vector<const Json::object_t::value_type*> sorted;
      sorted.reserve(members.size());
      for (const auto& member : members) sorted.push_back(&member);
      std::sort(sorted.begin(), sorted.end(),
                [](const auto* a, const auto* b) { return utf16_less(a->first, b->first); });
      for (const auto* member : sorted) {
        if (!write_member(*member)) return false;
      }
    } else {
      for (const auto& member : members) {
        if (!write_member(member)) return false;
      }
    }
    m_out.push_back('}');
    return true;
  }

  std::string& m_out;
  std::string_view m_error;
};

} // namespace

Result<Json> parse_json(std::string_view text, const JsonLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return fail(Errc::too_large,
                "JSON document is larger than " + std::to_string(limits.max_bytes) + " bytes");
  }
  // Checked up front for a precise message; nlohmann's lexer would also refuse it in strings,
  // and outside strings JSON text is ASCII.
  if (const auto bad = utf8_first_invalid(text)) {
    return fail(Errc::invalid_argument, "JSON text is not UTF-8 at byte " + std::to_string(*bad));
  }
  try {
    Json root;
    DocumentBuilder builder(root, limits.max_depth);
    const bool parsed = Json::sax_parse(text.begin(), text.end(), &builder,
                                        nlohmann::detail::input_format_t::json, /*strict=*/true);
    if (builder.error()) return tl::unexpected<Error>(*builder.error());
    if (!parsed) return fail(Errc::invalid_argument, "malformed JSON");
    return root;
  } catch (const std::bad_alloc&) {
    return fail(Errc::too_large, "JSON document does not fit in memory");
  } catch (const std::exception&) {
    return fail(Errc::invalid_argument, "malformed JSON");
  }
}

Result<std::string> canonical_json(const Json& value) {
  std::string out;
  CORDON_TRY_VOID(append_canonical_json(out, value));
  return out;
}

// On failure `out` is left as it was.
Result<void> append_canonical_json(std::string& out, const Json& value) {
  const std::size_t original_size = out.size();
  CanonicalWriter writer(out);
  if (writer.write(value)) return ok();
  out.resize(original_size);
  return fail(Errc::invalid_argument, "cannot canonicalise JSON: " + std::string(writer.error()));
}

// Text that is not UTF-8 cannot be represented; each ill-formed byte is written as U+FFFD.
// append_canonical_json refuses such strings instead.
void append_canonical_string(std::string& out, std::string_view text) {
  append_string(out, text, InvalidUtf8::replace);
}

bool contains_float(const Json& value) {
  switch (value.type()) {
  case Json::value_t::number_float: return true;
  case Json::value_t::array:
  case Json::value_t::object:
    return std::any_of(value.begin(), value.end(),
                       [](const Json& element) { return contains_float(element); });
  default: return false;
  }
}

Result<void> require_known_fields(const Json& object,
                                  std::initializer_list<std::string_view> allowed) {
  if (!object.is_object()) return fail(Errc::invalid_argument, "expected a JSON object");
  for (const auto& member : object.get_ref<const Json::object_t&>()) {
    if (std::find(allowed.begin(), allowed.end(), member.first) == allowed.end()) {
      return fail(Errc::unknown_field, "unknown field " + quoted_name(member.first));
    }
  }
  return ok();
}

} // namespace cordon

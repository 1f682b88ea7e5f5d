#include "common/json.h"

#include <algorithm>
#include <cmath>
#include <new>
#include <optional>
#include <vector>

#include "common/detail/jcs.h"
#include "common/utf8.h"

namespace cordon {
namespace {

using detail::append_double;
using detail::append_integer;
using detail::append_string;
using detail::InvalidUtf8;
using detail::quoted_name;
using detail::utf16_less;

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

// True when some key of `members` may sort differently in UTF-16 code unit order than in
// UTF-8 byte order (std::map's order).
bool needs_utf16_sort(const Json::object_t& members) {
  return std::any_of(members.begin(), members.end(), [](const auto& member) {
    return detail::sorts_differently_in_utf16(member.first);
  });
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

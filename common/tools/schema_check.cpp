#include "common/tools/schema_check.h"

#include <algorithm>
#include <cmath>
#include <compare>
#include <cstdint>
#include <cstdlib>
#include <numeric>
#include <optional>
#include <regex>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/utf8.h"

namespace cordon::tools {
namespace {

// Member names in a path are cut here: they come from the agent and may be long.
constexpr std::size_t max_segment_bytes = 64;
// Schema values (enum lists, constants, patterns) longer than this are described, not quoted.
constexpr std::size_t max_quoted_schema_bytes = 200;

// ---- Locations ----

// Where a value or a schema sits: a chain of steps up to the root, built on the stack as a
// check descends and rendered only for an error, so a passing check builds no path strings.
struct Location {
  const Location* parent = nullptr; // nullptr at the root
  std::string_view name;            // the root's text, or the member's name
  std::optional<std::size_t> index; // set when the step is an array item
};

Location member_of(const Location& parent, std::string_view name) { return {&parent, name, std::nullopt}; }

Location item_of(const Location& parent, std::size_t index) { return {&parent, {}, index}; }

// `text` cut at `max_bytes` on a character boundary, with "..." when it was cut.
std::string excerpt(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  return std::string(utf8_prefix(text, max_bytes)) + "...";
}

// A member name as a JSON Pointer reference token (RFC 6901 §3: "~" -> "~0", "/" -> "~1"),
// cut at max_segment_bytes before escaping.
std::string segment(std::string_view name) {
  std::string out;
  for (const char c : excerpt(name, max_segment_bytes)) {
    if (c == '~')
      out += "~0";
    else if (c == '/')
      out += "~1";
    else
      out += c;
  }
  return out;
}

std::string render(const Location& at) {
  if (at.parent == nullptr) return std::string(at.name);
  return render(*at.parent) + "/" + (at.index ? std::to_string(*at.index) : segment(at.name));
}

tl::unexpected<Error> refuse(const Location& at, std::string_view why) {
  return fail(Errc::invalid_argument, render(at) + ": " + std::string(why));
}

tl::unexpected<Error> unsupported(const Location& at, std::string_view why) {
  return fail(Errc::internal, render(at) + ": " + std::string(why));
}

// A schema value for a message; never throws, even on a string that is not UTF-8.
std::string quote_schema_value(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string counted(std::uint64_t count, std::string_view noun) {
  return std::to_string(count) + " " + std::string(noun) + (count == 1 ? "" : "s");
}

// ---- Comparing JSON values ----

// Exact comparison of an integer with a double: neither is rounded to the other's type.
template <class Integer>
std::partial_ordering compare_integer_to_double(Integer integer, double number) {
  if (std::isnan(number)) return std::partial_ordering::unordered;
  constexpr double lower = std::is_signed_v<Integer> ? -0x1p63 : 0.0;
  constexpr double upper = std::is_signed_v<Integer> ? 0x1p63 : 0x1p64;
  if (number < lower) return std::partial_ordering::greater;
  if (number >= upper) return std::partial_ordering::less;
  const auto whole = static_cast<Integer>(number); // in range, so exact truncation
  if (integer != whole) return integer <=> whole;
  return 0.0 <=> number - static_cast<double>(whole); // the fraction decides; it is exact
}

template <class Visitor>
std::partial_ordering visit_integer(const Json& number, Visitor&& visitor) {
  if (number.is_number_unsigned()) return visitor(number.get<std::uint64_t>());
  return visitor(number.get<std::int64_t>());
}

// Exact comparison of two JSON numbers by value; unordered if either is NaN.
std::partial_ordering compare_numbers(const Json& a, const Json& b) {
  if (a.is_number_float() && b.is_number_float()) return a.get<double>() <=> b.get<double>();
  if (b.is_number_float())
    return visit_integer(a, [&](auto x) { return compare_integer_to_double(x, b.get<double>()); });
  if (a.is_number_float())
    return 0 <=> visit_integer(b, [&](auto y) { return compare_integer_to_double(y, a.get<double>()); });
  return visit_integer(a, [&](auto x) {
    return visit_integer(b, [&](auto y) {
      if (std::cmp_less(x, y)) return std::partial_ordering::less;
      if (std::cmp_equal(x, y)) return std::partial_ordering::equivalent;
      return std::partial_ordering::greater;
    });
  });
}

// Orders kinds of value; all numbers are one kind, since 1 and 1.0 are the same number.
int kind_rank(const Json& value) {
  if (value.is_null()) return 0;
  if (value.is_boolean()) return 1;
  if (value.is_number()) return value.is_number_float() && std::isnan(value.get<double>()) ? 3 : 2;
  if (value.is_string()) return 4;
  if (value.is_array()) return 5;
  if (value.is_object()) return 6;
  return 7; // binary or discarded: never produced by parse_json
}

// A total order in which two values are equivalent exactly when JSON Schema calls them equal
// (numbers by value, arrays item by item, objects member by member). NaNs, which JSON cannot
// express, are equivalent to each other and to nothing else.
std::weak_ordering compare_json(const Json& a, const Json& b) {
  const int rank = kind_rank(a);
  if (const auto kinds = rank <=> kind_rank(b); kinds != 0) return kinds;
  switch (rank) {
  case 0:
  case 3: return std::weak_ordering::equivalent;
  case 1: return a.get<bool>() <=> b.get<bool>();
  case 2: {
    const auto order = compare_numbers(a, b);
    return order < 0   ? std::weak_ordering::less
           : order > 0 ? std::weak_ordering::greater
                       : std::weak_ordering::equivalent;
  }
  case 4: return a.get_ref<const std::string&>() <=> b.get_ref<const std::string&>();
  case 5: {
    const auto& x = a.get_ref<const Json::array_t&>();
    const auto& y = b.get_ref<const Json::array_t&>();
    return std::lexicographical_compare_three_way(x.begin(), x.end(), y.begin(), y.end(), compare_json);
  }
  case 6: {
    // Members are kept sorted by name, so equal objects list equal members in the same order.
    const auto& x = a.get_ref<const Json::object_t&>();
    const auto& y = b.get_ref<const Json::object_t&>();
    const auto by_member = [](const auto& m, const auto& n) -> std::weak_ordering {
      if (const auto names = m.first <=> n.first; names != 0) return names;
      return compare_json(m.second, n.second);
    };
    return std::lexicographical_compare_three_way(x.begin(), x.end(), y.begin(), y.end(), by_member);
  }
  default: return quote_schema_value(a) <=> quote_schema_value(b);
  }
}

bool equal_json(const Json& a, const Json& b) { return compare_json(a, b) == 0; }

// The first item equal to an earlier one, as {earlier, later}; O(n log n), so that a long
// array cannot make uniqueItems quadratic.
std::optional<std::pair<std::size_t, std::size_t>> first_duplicate(const Json::array_t& items) {
  std::vector<std::size_t> order(items.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t i, std::size_t j) { return compare_json(items[i], items[j]) < 0; });
  std::optional<std::pair<std::size_t, std::size_t>> found;
  std::size_t group_start = 0; // equal items are adjacent, and within a group in index order
  for (std::size_t k = 1; k < order.size(); ++k) {
    if (!equal_json(items[order[k - 1]], items[order[k]])) {
      group_start = k;
      continue;
    }
    if (!found || order[k] < found->second) found = std::pair{order[group_start], order[k]};
  }
  return found;
}

// ---- Types ----

struct TypeName {
  std::string_view name;
  std::string_view phrase; // as in "must be an integer"
  bool (*matches)(const Json&);
};

constexpr TypeName type_names[] = {
    {"object", "an object", [](const Json& v) { return v.is_object(); }},
    {"array", "an array", [](const Json& v) { return v.is_array(); }},
    {"string", "a string", [](const Json& v) { return v.is_string(); }},
    {"integer", "an integer", [](const Json& v) { return v.is_number_integer(); }},
    {"number", "a number", [](const Json& v) { return v.is_number(); }},
    {"boolean", "a boolean", [](const Json& v) { return v.is_boolean(); }},
    {"null", "null", [](const Json& v) { return v.is_null(); }},
};

const TypeName* find_type(std::string_view name) {
  for (const TypeName& type : type_names)
    if (type.name == name) return &type;
  return nullptr;
}

// The types a checked `type` keyword names, in its order.
std::vector<const TypeName*> types_of(const Json& type) {
  std::vector<const TypeName*> types;
  const auto add = [&](const Json& name) {
    const TypeName* found = find_type(name.get_ref<const std::string&>());
    if (found == nullptr) std::abort(); // check_schema refused unknown names
    types.push_back(found);
  };
  if (type.is_string())
    add(type);
  else
    for (const Json& name : type) add(name);
  return types;
}

// "a string", "a string or null", "an object, an array or null".
std::string alternatives(const std::vector<const TypeName*>& types) {
  std::string out;
  for (std::size_t i = 0; i < types.size(); ++i) {
    if (i > 0) out += i + 1 == types.size() ? " or " : ", ";
    out += types[i]->phrase;
  }
  return out;
}

// ---- Checking the schema ----

// Patterns compiled while the schema was checked, by the address of their `pattern` value.
using Patterns = std::unordered_map<const Json*, std::regex>;

// What a keyword's value must be. The table below is the whole of what a schema may say.
enum class Form {
  annotation,
  any,
  type,
  schema,
  schema_map,
  name_set,
  non_empty_array,
  count,
  number,
  boolean,
  pattern
};

constexpr std::pair<std::string_view, Form> keyword_forms[] = {
    {"$schema", Form::annotation},
    {"default", Form::annotation},
    {"description", Form::annotation},
    {"title", Form::annotation},
    {"type", Form::type},
    {"properties", Form::schema_map},
    {"required", Form::name_set},
    {"additionalProperties", Form::schema},
    {"enum", Form::non_empty_array},
    {"const", Form::any},
    {"minLength", Form::count},
    {"maxLength", Form::count},
    {"pattern", Form::pattern},
    {"minimum", Form::number},
    {"maximum", Form::number},
    {"items", Form::schema},
    {"minItems", Form::count},
    {"maxItems", Form::count},
    {"uniqueItems", Form::boolean},
};

std::optional<Form> form_of(std::string_view keyword) {
  for (const auto& [name, form] : keyword_forms)
    if (name == keyword) return form;
  return std::nullopt;
}

// True for an array of distinct strings, each accepted by `accepts`.
template <class Predicate>
bool is_string_set(const Json& value, Predicate&& accepts) {
  if (!value.is_array()) return false;
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (!value[i].is_string() || !accepts(value[i].get_ref<const std::string&>())) return false;
    for (std::size_t j = 0; j < i; ++j)
      if (value[j] == value[i]) return false;
  }
  return true;
}

Result<void> check_type_form(const Json& type, const Location& at) {
  const auto known = [](std::string_view name) { return find_type(name) != nullptr; };
  if (type.is_string() && known(type.get_ref<const std::string&>())) return ok();
  if (!type.empty() && is_string_set(type, known)) return ok();
  return unsupported(at, "must be a type name or a non-empty array of distinct type names");
}

Result<void> compile_pattern(const Json& pattern, const Location& at, Patterns& patterns) {
  if (!pattern.is_string()) return unsupported(at, "must be a string");
  const std::string& text = pattern.get_ref<const std::string&>();
  if (std::any_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; }))
    return unsupported(at, "must be ASCII: std::regex would match its characters byte by byte");
  try {
    patterns.emplace(&pattern, std::regex(text, std::regex::ECMAScript));
  } catch (const std::regex_error&) {
    return unsupported(at, "is not a valid ECMAScript regular expression");
  }
  return ok();
}

Result<void> check_schema_at(const Json& schema, const Location& at, int depth, Patterns& patterns);

Result<void> check_keyword(const Json& value, Form form, const Location& at, int depth, Patterns& patterns) {
  switch (form) {
  case Form::annotation:
  case Form::any: return ok();
  case Form::type: return check_type_form(value, at);
  case Form::schema: return check_schema_at(value, at, depth + 1, patterns);
  case Form::schema_map:
    if (!value.is_object()) return unsupported(at, "must be an object of schemas");
    for (const auto& [name, member] : value.get_ref<const Json::object_t&>())
      CORDON_TRY_VOID(check_schema_at(member, member_of(at, name), depth + 1, patterns));
    return ok();
  case Form::name_set:
    if (!is_string_set(value, [](std::string_view) { return true; }))
      return unsupported(at, "must be an array of distinct strings");
    return ok();
  case Form::non_empty_array:
    if (!value.is_array() || value.empty()) return unsupported(at, "must be a non-empty array");
    return ok();
  case Form::count:
    if (!value.is_number_integer() || (!value.is_number_unsigned() && value.get<std::int64_t>() < 0))
      return unsupported(at, "must be a non-negative integer");
    return ok();
  case Form::number:
    if (!value.is_number() || std::isnan(value.get<double>())) return unsupported(at, "must be a number");
    return ok();
  case Form::boolean:
    if (!value.is_boolean()) return unsupported(at, "must be a boolean");
    return ok();
  case Form::pattern: return compile_pattern(value, at, patterns);
  }
  std::abort(); // every Form is handled above
}

// Checks a schema and the schemas inside it, depth counting this one.
Result<void> check_schema_at(const Json& schema, const Location& at, int depth, Patterns& patterns) {
  if (depth > max_schema_depth)
    return unsupported(at, "nests deeper than " + std::to_string(max_schema_depth) + " schemas");
  if (schema.is_boolean()) return ok();
  if (!schema.is_object()) return unsupported(at, "a schema must be an object or a boolean");
  for (const auto& [keyword, value] : schema.get_ref<const Json::object_t&>()) {
    const Location keyword_at = member_of(at, keyword);
    const auto form = form_of(keyword);
    if (!form) return unsupported(keyword_at, "unsupported schema keyword");
    CORDON_TRY_VOID(check_keyword(value, *form, keyword_at, depth, patterns));
  }
  return ok();
}

// ---- Checking a value ----

// Counts code points; `text` is valid UTF-8, so every byte but a continuation byte starts one.
std::size_t code_points(std::string_view text) {
  return static_cast<std::size_t>(std::count_if(
      text.begin(), text.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xc0) != 0x80; }));
}

// True if `value` nests containers more than `levels` deep; recurses at most levels + 1 deep.
bool nests_deeper_than(const Json& value, int levels) {
  if (!value.is_structured()) return false;
  if (levels <= 0) return true;
  for (const Json& child : value)
    if (nests_deeper_than(child, levels - 1)) return true;
  return false;
}

const Json* keyword(const Json& schema, std::string_view name) {
  const auto found = schema.find(name);
  return found == schema.end() ? nullptr : &*found;
}

std::uint64_t count_of(const Json& keyword_value) { return keyword_value.get<std::uint64_t>(); }

// Checks values against a schema that check_schema_at accepted. Recursion follows the schema,
// whose depth is bounded, so a deep value cannot make it deep.
class ValueChecker {
public:
  explicit ValueChecker(const Patterns& patterns) : m_patterns(patterns) {}

  Result<void> check(const Json& value, const Json& schema, const Location& at) const {
    if (schema.is_boolean()) return schema.get<bool>() ? ok() : refuse(at, "is not allowed here");
    CORDON_TRY_VOID(check_type(value, schema, at));
    CORDON_TRY_VOID(check_enum_and_const(value, schema, at));
    if (value.is_string()) return check_string(value.get_ref<const std::string&>(), schema, at);
    if (value.is_number()) return check_number(value, schema, at);
    if (value.is_array()) return check_array(value.get_ref<const Json::array_t&>(), schema, at);
    if (value.is_object()) return check_object(value.get_ref<const Json::object_t&>(), schema, at);
    return ok();
  }

private:
  static Result<void> check_type(const Json& value, const Json& schema, const Location& at) {
    const Json* type = keyword(schema, "type");
    if (type == nullptr) return ok();
    const auto types = types_of(*type);
    if (std::any_of(types.begin(), types.end(), [&](const TypeName* t) { return t->matches(value); }))
      return ok();
    return refuse(at, "must be " + alternatives(types));
  }

  static Result<void> check_enum_and_const(const Json& value, const Json& schema, const Location& at) {
    if (const Json* options = keyword(schema, "enum")) {
      if (std::none_of(options->begin(), options->end(),
                       [&](const Json& option) { return equal_json(value, option); }))
        return refuse(at, enum_phrase(*options));
    }
    if (const Json* constant = keyword(schema, "const");
        constant != nullptr && !equal_json(value, *constant)) {
      const std::string quoted = quote_schema_value(*constant);
      return refuse(at, quoted.size() <= max_quoted_schema_bytes ? "must be " + quoted
                                                                 : "must equal its schema's const");
    }
    return ok();
  }

  // "must be one of "GET", "HEAD"", or a count when the list would be long.
  static std::string enum_phrase(const Json& options) {
    if (options.size() == 1) {
      const std::string quoted = quote_schema_value(options[0]);
      if (quoted.size() <= max_quoted_schema_bytes) return "must be " + quoted;
    }
    std::string list;
    for (const Json& option : options) list += (list.empty() ? "" : ", ") + quote_schema_value(option);
    if (list.size() <= max_quoted_schema_bytes) return "must be one of " + list;
    return "must be one of the " + std::to_string(options.size()) + " values its schema allows";
  }

  Result<void> check_string(const std::string& text, const Json& schema, const Location& at) const {
    const Json* min_length = keyword(schema, "minLength");
    const Json* max_length = keyword(schema, "maxLength");
    if (min_length != nullptr || max_length != nullptr) {
      const std::size_t length = code_points(text);
      if (min_length != nullptr && length < count_of(*min_length))
        return refuse(at, "must be at least " + counted(count_of(*min_length), "character"));
      if (max_length != nullptr && length > count_of(*max_length))
        return refuse(at, "must be at most " + counted(count_of(*max_length), "character"));
    }
    if (const Json* pattern = keyword(schema, "pattern")) return check_pattern(text, *pattern, at);
    return ok();
  }

  Result<void> check_pattern(const std::string& text, const Json& pattern, const Location& at) const {
    if (text.size() > max_pattern_subject_bytes)
      return refuse(at, "is too long to match against its pattern (over " +
                            std::to_string(max_pattern_subject_bytes) + " bytes)");
    const auto compiled = m_patterns.find(&pattern);
    if (compiled == m_patterns.end()) std::abort(); // check_schema_at compiled every pattern
    bool matched = false;
    try {
      matched = std::regex_search(text, compiled->second);
    } catch (const std::regex_error&) {
      return refuse(at, "could not be matched against its pattern");
    }
    if (matched) return ok();
    return refuse(at, "must match the pattern " +
                          excerpt(pattern.get_ref<const std::string&>(), max_quoted_schema_bytes));
  }

  static Result<void> check_number(const Json& number, const Json& schema, const Location& at) {
    // An unordered comparison (a NaN built in code) fails both bounds.
    if (const Json* minimum = keyword(schema, "minimum");
        minimum != nullptr && !(compare_numbers(number, *minimum) >= 0))
      return refuse(at, "must be at least " + quote_schema_value(*minimum));
    if (const Json* maximum = keyword(schema, "maximum");
        maximum != nullptr && !(compare_numbers(number, *maximum) <= 0))
      return refuse(at, "must be at most " + quote_schema_value(*maximum));
    return ok();
  }

  Result<void> check_array(const Json::array_t& items, const Json& schema, const Location& at) const {
    if (const Json* min_items = keyword(schema, "minItems");
        min_items != nullptr && items.size() < count_of(*min_items))
      return refuse(at, "must have at least " + counted(count_of(*min_items), "item"));
    if (const Json* max_items = keyword(schema, "maxItems");
        max_items != nullptr && items.size() > count_of(*max_items))
      return refuse(at, "must have at most " + counted(count_of(*max_items), "item"));
    if (const Json* item_schema = keyword(schema, "items")) {
      for (std::size_t i = 0; i < items.size(); ++i)
        CORDON_TRY_VOID(check(items[i], *item_schema, item_of(at, i)));
    }
    if (const Json* unique = keyword(schema, "uniqueItems"); unique != nullptr && unique->get<bool>()) {
      if (const auto duplicate = first_duplicate(items))
        return refuse(item_of(at, duplicate->second), "repeats item " + std::to_string(duplicate->first));
    }
    return ok();
  }

  // Required members first, in the schema's order; then every member in name order.
  Result<void> check_object(const Json::object_t& members, const Json& schema, const Location& at) const {
    if (const Json* required = keyword(schema, "required")) {
      for (const Json& name : *required)
        if (!members.contains(name.get_ref<const std::string&>()))
          return refuse(member_of(at, name.get_ref<const std::string&>()), "is required");
    }
    const Json* properties = keyword(schema, "properties");
    const Json* additional = keyword(schema, "additionalProperties");
    for (const auto& [name, member] : members) {
      const Location member_at = member_of(at, name);
      const Json* member_schema = properties != nullptr ? keyword(*properties, name) : nullptr;
      if (member_schema == nullptr) {
        if (additional == nullptr) continue;
        if (additional->is_boolean() && !additional->get<bool>()) return refuse(member_at, "unknown member");
        member_schema = additional;
      }
      CORDON_TRY_VOID(check(member, *member_schema, member_at));
    }
    return ok();
  }

  const Patterns& m_patterns;
};

} // namespace

Result<void> check_schema(const Json& schema) {
  Patterns patterns;
  return check_schema_at(schema, Location{nullptr, "schema", std::nullopt}, 1, patterns);
}

Result<void> check_against_schema(const Json& value, const Json& schema, std::string_view root) {
  Patterns patterns;
  CORDON_TRY_VOID(check_schema_at(schema, Location{nullptr, "schema", std::nullopt}, 1, patterns));
  const Location at{nullptr, root, std::nullopt};
  if (nests_deeper_than(value, max_value_depth))
    return refuse(at, "nests deeper than " + std::to_string(max_value_depth) + " levels");
  return ValueChecker(patterns).check(value, schema, at);
}

} // namespace cordon::tools

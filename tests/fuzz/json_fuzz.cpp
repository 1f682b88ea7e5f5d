// parse_json (with limits) and RFC 8785 canonical serialisation on untrusted bytes.
//
// Invariants:
// - parsing fails only with invalid_argument, or too_large exactly when the text is over
//   max_bytes; a document never nests deeper than max_depth;
// - tight limits only ever refuse more: what parses under them parses to the same value under
//   loose ones, and what parses under loose ones parses under tight ones when it is within them;
// - canonical(parse(canonical(x))) == canonical(x), and the reparsed value equals x; canonical
//   form fails only for a non-finite number;
// - canonical form is what an independent writer produces with members sorted by UTF-16 code
//   units (scalars excepted, which it takes from the library);
// - any bytes written by append_canonical_string parse back as a string: the same string when
//   they were UTF-8, valid UTF-8 (U+FFFD for ill-formed bytes) otherwise.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/json.h"
#include "common/utf8.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using cordon::Errc;
using cordon::Json;
using cordon::JsonLimits;

constexpr JsonLimits loose{.max_bytes = std::size_t{1} << 20, .max_depth = 64};
constexpr int tight_depth = 4;

int depth(const Json& value) {
  if (!value.is_structured()) return 0;
  int deepest = 0;
  for (const Json& element : value) deepest = std::max(deepest, depth(element));
  return deepest + 1;
}

bool has_non_finite(const Json& value) {
  if (value.is_number_float()) return !std::isfinite(value.get<double>());
  if (!value.is_structured()) return false;
  return std::any_of(value.begin(), value.end(), [](const Json& element) { return has_non_finite(element); });
}

// UTF-16 code units of a well-formed UTF-8 string.
std::u16string utf16(std::string_view text) {
  std::u16string out;
  std::size_t i = 0;
  while (i < text.size()) {
    const char32_t code_point = cordon::utf8_decode_lenient(text, i);
    if (code_point >= 0x10000) {
      out.push_back(static_cast<char16_t>(0xd800 + ((code_point - 0x10000) >> 10)));
      out.push_back(static_cast<char16_t>(0xdc00 + ((code_point - 0x10000) & 0x3ff)));
    } else {
      out.push_back(static_cast<char16_t>(code_point));
    }
  }
  return out;
}

// Canonical form written independently of the library's object and array writer.
std::string expected_canonical(const Json& value) {
  std::string out;
  if (value.is_array()) {
    out.push_back('[');
    for (std::size_t i = 0; i < value.size(); ++i) {
      if (i != 0) out.push_back(',');
      out += expected_canonical(value[i]);
    }
    out.push_back(']');
    return out;
  }
  if (value.is_object()) {
    std::vector<std::pair<std::u16string, const Json::object_t::value_type*>> members;
    for (const auto& member : value.get_ref<const Json::object_t&>()) {
      members.emplace_back(utf16(member.first), &member);
    }
    std::sort(members.begin(), members.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    out.push_back('{');
    for (std::size_t i = 0; i < members.size(); ++i) {
      if (i != 0) out.push_back(',');
      cordon::append_canonical_string(out, members[i].second->first);
      out.push_back(':');
      out += expected_canonical(members[i].second->second);
    }
    out.push_back('}');
    return out;
  }
  auto scalar = cordon::canonical_json(value);
  CORDON_FUZZ_CHECK(scalar.has_value());
  return *scalar;
}

void check_parse_error(const cordon::Error& error, std::size_t size, const JsonLimits& limits) {
  CORDON_FUZZ_CHECK(error.code == Errc::invalid_argument || error.code == Errc::too_large);
  if (size > limits.max_bytes) CORDON_FUZZ_CHECK(error.code == Errc::too_large);
  if (error.code == Errc::too_large) CORDON_FUZZ_CHECK(size > limits.max_bytes);
}

void check_limits(std::string_view text) {
  // Even sizes sit exactly at the byte limit (accepted), odd ones one byte over it (refused).
  const JsonLimits tight{.max_bytes = text.size() - text.size() % 2, .max_depth = tight_depth};
  const auto loosely = cordon::parse_json(text, loose);
  const auto tightly = cordon::parse_json(text, tight);
  if (!loosely) check_parse_error(loosely.error(), text.size(), loose);
  if (!tightly) check_parse_error(tightly.error(), text.size(), tight);
  if (loosely) CORDON_FUZZ_CHECK(depth(*loosely) <= loose.max_depth);
  if (tightly) {
    CORDON_FUZZ_CHECK(depth(*tightly) <= tight.max_depth);
    CORDON_FUZZ_CHECK(loosely && *loosely == *tightly);
  }
  if (loosely && depth(*loosely) <= tight.max_depth && text.size() <= tight.max_bytes) {
    CORDON_FUZZ_CHECK(tightly.has_value());
  }
}

void check_round_trip(std::string_view text) {
  const auto parsed = cordon::parse_json(text, loose);
  if (!parsed) return;
  const auto canonical = cordon::canonical_json(*parsed);
  if (!canonical) {
    CORDON_FUZZ_CHECK(canonical.error().code == Errc::invalid_argument);
    CORDON_FUZZ_CHECK(has_non_finite(*parsed));
    return;
  }
  CORDON_FUZZ_CHECK(!cordon::utf8_first_invalid(*canonical));
  CORDON_FUZZ_CHECK(*canonical == expected_canonical(*parsed));
  // Canonical text may be longer than its source ("1E2" is "100"), so no byte limit here.
  const auto reparsed = cordon::parse_json(*canonical, JsonLimits{.max_bytes = SIZE_MAX, .max_depth = 64});
  CORDON_FUZZ_CHECK(reparsed.has_value());
  CORDON_FUZZ_CHECK(*reparsed == *parsed);
  const auto again = cordon::canonical_json(*reparsed);
  CORDON_FUZZ_CHECK(again && *again == *canonical);
}

void check_string_literal(std::string_view bytes) {
  std::string literal;
  cordon::append_canonical_string(literal, bytes);
  const auto parsed = cordon::parse_json(literal, JsonLimits{.max_bytes = SIZE_MAX, .max_depth = 0});
  CORDON_FUZZ_CHECK(parsed && parsed->is_string());
  const auto& text = parsed->get_ref<const std::string&>();
  if (!cordon::utf8_first_invalid(bytes)) CORDON_FUZZ_CHECK(text == bytes);
  CORDON_FUZZ_CHECK(!cordon::utf8_first_invalid(text));
  const auto canonical = cordon::canonical_json(*parsed);
  CORDON_FUZZ_CHECK(canonical && *canonical == literal);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  check_limits(text);
  check_round_trip(text);
  check_string_literal(text);
  return 0;
}

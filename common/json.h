#pragma once

#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/error.h"

namespace cordon {

using Json = nlohmann::json;

// Bounds applied to every JSON document that crosses a process boundary.
struct JsonLimits {
  std::size_t max_bytes = 1 << 20;
  int max_depth = 32;
};

// Parses untrusted bytes. Fails with Errc::too_large over max_bytes, Errc::invalid_argument on
// malformed input, nesting deeper than max_depth, invalid UTF-8 or duplicate object keys.
// Never throws.
Result<Json> parse_json(std::string_view text, const JsonLimits& limits = {});

// RFC 8785 (JCS) canonical form: object members sorted by UTF-16 code units, no whitespace,
// minimal string escaping, numbers in ECMAScript shortest form. Fails (Errc::invalid_argument)
// on non-finite numbers. Integers outside ±2^53 are written exactly as stored.
Result<std::string> canonical_json(const Json& value);

// Appends the canonical form of `value` to `out`; same guarantees as canonical_json.
Result<void> append_canonical_json(std::string& out, const Json& value);

// Appends `text` as a canonical JSON string literal (with quotes) to `out`.
void append_canonical_string(std::string& out, std::string_view text);

// True if the document (recursively) holds any floating-point number. Digested objects must
// not (DESIGN.md §5.1).
bool contains_float(const Json& value);

// Fails with Errc::unknown_field naming the first member of `object` not in `allowed`, and
// with Errc::invalid_argument if `object` is not an object.
Result<void> require_known_fields(const Json& object, std::initializer_list<std::string_view> allowed);

} // namespace cordon

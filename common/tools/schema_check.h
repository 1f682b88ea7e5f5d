#pragma once

#include <cstddef>
#include <string_view>

#include "common/json.h"

// A strict JSON Schema checker for tool arguments (DESIGN.md §6.1): agentd refuses a tools/call
// whose arguments do not match the tool's `input_schema`. It implements a fixed subset of JSON
// Schema 2020-12 and refuses any schema outside it, so an unsupported keyword can never make a
// constraint silently disappear.
//
// Supported keywords: type, properties, required, additionalProperties, enum, const, minLength,
// maxLength, pattern, minimum, maximum, items (one schema), minItems, maxItems, uniqueItems; the
// annotations description, title, $schema and default are ignored. Boolean schemas (`true`,
// `false`) are supported wherever a schema may appear.
//
// Semantics that differ from a lenient reading of the specification, on purpose:
// - "integer" is a JSON integer as parsed (nlohmann's number_integer or number_unsigned); 5.0 is
//   a number but not an integer, since digested objects carry no floats (DESIGN.md §5.1).
// - Numbers compare exactly (an integer above 2^53 is not rounded to a double first); enum,
//   const and uniqueItems compare numbers by value, so 1 and 1.0 are equal.
// - minLength and maxLength count Unicode code points of the (valid UTF-8) string.
// - pattern is an ASCII ECMAScript regular expression (std::regex), searched, not anchored. It
//   matches bytes, so `.` matches one byte of a multi-byte character. A string over
//   max_pattern_subject_bytes fails a pattern: std::regex matches by recursion and a longer
//   subject could exhaust the stack.
namespace cordon::tools {

// The longest string, in bytes, that is matched against a `pattern`.
inline constexpr std::size_t max_pattern_subject_bytes = 1024;

// The deepest nesting of schemas (properties, items, additionalProperties) a schema may have.
inline constexpr int max_schema_depth = 32;

// The deepest nesting of containers a checked value may have (a scalar is 0, `[]` is 1), as
// parse_json's default. Checked first, so no comparison (enum, const, uniqueItems) recurses
// further, even on a value built in code.
inline constexpr int max_value_depth = JsonLimits{}.max_depth;

// Checks `value` against `schema`. Fails with Errc::invalid_argument naming the first failing
// location as a JSON Pointer-like path under `root` ("arguments/to/3: must be at most 320
// characters"); the message never quotes the value, and member names in it are escaped as in a
// JSON Pointer and cut at 64 bytes; a value nested deeper than max_value_depth is refused as a
// whole. Fails with Errc::internal if check_schema refuses `schema`.
// Checks in a fixed order, so the same input always gives the same message. Never throws.
Result<void> check_against_schema(const Json& value, const Json& schema, std::string_view root = "arguments");

// Fails with Errc::internal, naming the location in the schema, if `schema` uses a keyword
// check_against_schema does not implement, gives a keyword a value of the wrong form (such as a
// negative maxLength or a pattern that does not compile) or nests deeper than max_schema_depth.
// Lets a caller refuse a tool catalog before the first call.
Result<void> check_schema(const Json& schema);

} // namespace cordon::tools

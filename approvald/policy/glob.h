#pragma once

#include <string_view>

namespace cordon::approvald {

// Shell-style matching as the constitution uses it for tools, arguments and resources:
//   **  any run of characters, '/' included
//   *   any run of characters except '/'
//   ?   one character except '/'
// Everything else matches itself; there are no classes and no escapes. The whole text must
// match. Time O(|pattern| × |text|), memory O(|text|): no input can make it backtrack.
bool glob_match(std::string_view pattern, std::string_view text);

} // namespace cordon::approvald

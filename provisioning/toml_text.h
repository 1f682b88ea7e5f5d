#pragma once

#include <string>
#include <string_view>
#include <vector>

// Writing TOML values by hand: rendered configuration keeps its comments and its order, and
// every value goes through these, so no bundle value can break out of its string.
namespace cordon::provisioning {

// A TOML basic string with its quotes: '"' and '\' escaped, every control character as \uXXXX.
std::string toml_string(std::string_view text);

// ["a", "b"]
std::string toml_string_array(const std::vector<std::string>& values);

} // namespace cordon::provisioning

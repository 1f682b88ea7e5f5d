#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace cordon {

using Bytes = std::vector<std::uint8_t>;

// Lowercase hexadecimal.
std::string to_hex(std::span<const std::uint8_t> bytes);
Result<Bytes> from_hex(std::string_view text);

// RFC 4648 standard base64 with padding (the form C2SP notes and proofs use).
std::string to_base64(std::span<const std::uint8_t> bytes);
// Strict: rejects missing padding, non-alphabet characters and whitespace.
Result<Bytes> from_base64(std::string_view text);

// Views a string's bytes without copying.
inline std::span<const std::uint8_t> as_bytes(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

} // namespace cordon

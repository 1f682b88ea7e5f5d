#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.h"

// The two hash functions of an RFC 6962 / RFC 9162 Merkle tree, over SHA-256.
namespace cordon::ledger {

using Hash = std::array<std::uint8_t, 32>;

// SHA-256(0x00 || leaf): the hash of one log entry (RFC 9162 §2.1.1).
Hash leaf_hash(std::string_view leaf);

// SHA-256(0x01 || left || right): the hash of an interior node (RFC 9162 §2.1.1).
Hash node_hash(const Hash& left, const Hash& right);

// SHA-256 of the empty string: the root of the empty tree (RFC 9162 §2.1.1).
const Hash& empty_root();

// 64 zero bytes' worth of hex is the `prev` of entry 0; this is that all-zero value.
inline constexpr Hash zero_hash{};

// Lowercase hex (64 characters).
std::string hash_to_hex(const Hash& hash);
// Writes the 64 lowercase hex characters of `hash` to out[0..63].
void hash_to_hex(const Hash& hash, char* out);
// Parses exactly 64 lowercase hex characters; Errc::invalid_argument otherwise.
Result<Hash> hash_from_hex(std::string_view hex);
// Standard base64 with padding (44 characters), the form C2SP checkpoints and proofs use.
std::string hash_to_base64(const Hash& hash);
// Parses the base64 of exactly 32 bytes; Errc::invalid_argument otherwise.
Result<Hash> hash_from_base64(std::string_view text);

} // namespace cordon::ledger

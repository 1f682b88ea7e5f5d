#include "auditd/ledger/hash.h"

// OpenSSL's low-level SHA-256 functions are deprecated in 3.0 in favour of EVP, but they remain in
// every 3.x release, and they cost about 100 ns per 65-byte node hash where EVP (even with a
// reused context) costs about 180 ns: tree building and verification hash one node per leaf, so
// this is most of the ledger's CPU time. (The one-shot SHA256() goes through EVP_Q_digest in 3.0
// and costs about 600 ns, so it is not used on any hot path.) The result is the same SHA-256; tests compare it with
// common/crypto.h.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#include "common/encoding.h"

namespace cordon::ledger {

Hash leaf_hash(std::string_view leaf) {
  static constexpr unsigned char prefix = 0x00;
  SHA256_CTX context;
  SHA256_Init(&context);
  SHA256_Update(&context, &prefix, 1);
  SHA256_Update(&context, leaf.data(), leaf.size());
  Hash out;
  SHA256_Final(out.data(), &context);
  return out;
}

// The 65-byte message is padded by hand into its two blocks and fed to the block function
// directly, which saves the buffering of Update and Final on the hottest call of tree work.
Hash node_hash(const Hash& left, const Hash& right) {
  unsigned char blocks[128] = {};
  blocks[0] = 0x01;
  std::copy(left.begin(), left.end(), blocks + 1);
  std::copy(right.begin(), right.end(), blocks + 33);
  blocks[65] = 0x80;  // padding starts right after the message
  blocks[126] = 0x02; // message length in bits, 520 = 0x0208, big-endian at the end
  blocks[127] = 0x08;
  SHA256_CTX context;
  SHA256_Init(&context);
  SHA256_Transform(&context, blocks);
  SHA256_Transform(&context, blocks + 64);
  Hash out;
  for (std::size_t i = 0; i < 8; ++i) {
    out[4 * i] = static_cast<std::uint8_t>(context.h[i] >> 24);
    out[4 * i + 1] = static_cast<std::uint8_t>(context.h[i] >> 16);
    out[4 * i + 2] = static_cast<std::uint8_t>(context.h[i] >> 8);
    out[4 * i + 3] = static_cast<std::uint8_t>(context.h[i]);
  }
  return out;
}

const Hash& empty_root() {
  static const Hash root = [] {
    Hash out;
    SHA256(nullptr, 0, out.data());
    return out;
  }();
  return root;
}

void hash_to_hex(const Hash& hash, char* out) {
  static constexpr char digits[] = "0123456789abcdef";
  for (std::size_t i = 0; i < hash.size(); ++i) {
    out[2 * i] = digits[hash[i] >> 4];
    out[2 * i + 1] = digits[hash[i] & 0x0f];
  }
}

std::string hash_to_hex(const Hash& hash) {
  std::string out(64, '\0');
  hash_to_hex(hash, out.data());
  return out;
}

Result<Hash> hash_from_hex(std::string_view hex) {
  const auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  if (hex.size() != 64) return fail(Errc::invalid_argument, "a hash is 64 lowercase hex digits");
  Hash out;
  for (std::size_t i = 0; i < out.size(); ++i) {
    const int high = nibble(hex[2 * i]);
    const int low = nibble(hex[2 * i + 1]);
    if (high < 0 || low < 0) {
      return fail(Errc::invalid_argument, "a hash is 64 lowercase hex digits");
    }
    out[i] = static_cast<std::uint8_t>(high << 4 | low);
  }
  return out;
}

std::string hash_to_base64(const Hash& hash) { return to_base64(hash); }

Result<Hash> hash_from_base64(std::string_view text) {
  auto bytes = from_base64(text);
  if (!bytes || bytes->size() != 32) {
    return fail(Errc::invalid_argument, "a hash is the base64 of 32 bytes");
  }
  Hash out;
  std::copy(bytes->begin(), bytes->end(), out.begin());
  return out;
}

} // namespace cordon::ledger

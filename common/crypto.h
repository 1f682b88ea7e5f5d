#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/encoding.h"
#include "common/error.h"

// Thin, allocation-light wrappers over OpenSSL 3. Every function either succeeds or returns
// Errc::crypto; none throws. Secret inputs are never copied into error messages.
namespace cordon::crypto {

using Sha256Digest = std::array<std::uint8_t, 32>;

Sha256Digest sha256(std::span<const std::uint8_t> data);
Sha256Digest sha256(std::string_view data);

// Incremental SHA-256, reusable after finish(). Not thread-safe; one per thread.
class Sha256 {
public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(std::span<const std::uint8_t> data);
  void update(std::string_view data);
  Sha256Digest finish(); // also resets for the next message
private:
  void* m_ctx; // EVP_MD_CTX
};

// RFC 2104 / RFC 4231.
Sha256Digest hmac_sha256(std::span<const std::uint8_t> key, std::span<const std::uint8_t> data);

// HMAC-SHA1, for RFC 6238 TOTP only (what authenticator apps compute); nothing else in Cordon
// uses SHA-1.
std::array<std::uint8_t, 20> hmac_sha1(std::span<const std::uint8_t> key, std::span<const std::uint8_t> data);

// RFC 5869 HKDF-SHA256 (extract and expand). Fails if length > 255*32.
Result<Bytes> hkdf_sha256(std::span<const std::uint8_t> ikm, std::span<const std::uint8_t> salt,
                          std::span<const std::uint8_t> info, std::size_t length);

// Constant-time comparison.
bool equal_constant_time(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b);

// Cryptographically secure random bytes (OpenSSL's DRBG seeded by the kernel).
Result<Bytes> random_bytes(std::size_t count);

// Overwrites memory in a way the compiler cannot elide.
void wipe(std::span<std::uint8_t> bytes);

// Ed25519 (RFC 8032, pure). Keys are the raw 32-byte forms.
struct Ed25519KeyPair {
  std::array<std::uint8_t, 32> seed; // private
  std::array<std::uint8_t, 32> public_key;
};
Result<Ed25519KeyPair> ed25519_generate();
Result<Ed25519KeyPair> ed25519_from_seed(std::span<const std::uint8_t> seed);
Result<std::array<std::uint8_t, 64>> ed25519_sign(const Ed25519KeyPair& key,
                                                  std::span<const std::uint8_t> message);
// False (not an error) for a bad signature; Errc::crypto only for malformed keys.
bool ed25519_verify(std::span<const std::uint8_t> public_key, std::span<const std::uint8_t> message,
                    std::span<const std::uint8_t> signature);

// AES-256-GCM with a 96-bit nonce and a 128-bit tag appended to the ciphertext.
Result<Bytes> aes256gcm_seal(std::span<const std::uint8_t> key, std::span<const std::uint8_t> nonce,
                             std::span<const std::uint8_t> plaintext, std::span<const std::uint8_t> aad);
// Errc::integrity when the tag does not verify.
Result<Bytes> aes256gcm_open(std::span<const std::uint8_t> key, std::span<const std::uint8_t> nonce,
                             std::span<const std::uint8_t> ciphertext_and_tag,
                             std::span<const std::uint8_t> aad);

} // namespace cordon::crypto

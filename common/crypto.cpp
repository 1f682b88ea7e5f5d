#include "common/crypto.h"

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

namespace cordon::crypto {
namespace {

constexpr std::size_t gcm_nonce_size = 12;
constexpr std::size_t gcm_tag_size = 16;
constexpr std::size_t aes256_key_size = 32;
constexpr std::size_t ed25519_key_size = 32;
constexpr std::size_t ed25519_signature_size = 64;
// OpenSSL counts cipher and random lengths in int.
constexpr std::size_t max_int_length = INT_MAX;

// A failure of OpenSSL where no input can be at fault (allocation, a missing default provider)
// is a broken environment we cannot run without: abort rather than hash or MAC wrongly.
[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "cordon: OpenSSL failed: %s\n", what);
  std::abort();
}

// Fails with Errc::crypto and drops OpenSSL's queued errors, which would otherwise accumulate on
// this thread and be blamed on a later, unrelated call.
tl::unexpected<Error> crypto_failure(std::string message) {
  ERR_clear_error();
  return fail(Errc::crypto, std::move(message));
}

struct OpenSslFree {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
  void operator()(EVP_MAC_CTX* p) const { EVP_MAC_CTX_free(p); }
  void operator()(EVP_KDF_CTX* p) const { EVP_KDF_CTX_free(p); }
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(EVP_CIPHER_CTX* p) const { EVP_CIPHER_CTX_free(p); }
};
template <class T>
using Owned = std::unique_ptr<T, OpenSslFree>;

// OpenSSL treats a null pointer with length zero differently from an empty buffer in places
// (a null HMAC key means "keep the previous key"); always pass a real address.
const unsigned char* data_or_empty(std::span<const std::uint8_t> bytes) {
  static constexpr unsigned char empty = 0;
  return bytes.empty() ? &empty : bytes.data();
}

// Algorithms are fetched once per process: fetching by name on every call costs a lock and
// a lookup, which dominates hashing of small inputs.
const EVP_MD* sha256_md() {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  if (md == nullptr) die("fetching SHA256");
  return md;
}

EVP_MAC* hmac_mac() {
  static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (mac == nullptr) die("fetching HMAC");
  return mac;
}

EVP_KDF* hkdf_kdf() {
  static EVP_KDF* const kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  if (kdf == nullptr) die("fetching HKDF");
  return kdf;
}

const EVP_CIPHER* aes256gcm_cipher() {
  static EVP_CIPHER* const cipher = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  if (cipher == nullptr) die("fetching AES-256-GCM");
  return cipher;
}

EVP_MD_CTX* md_ctx(void* ctx) { return static_cast<EVP_MD_CTX*>(ctx); }

Result<Owned<EVP_PKEY>> ed25519_private_key(std::span<const std::uint8_t> seed) {
  if (seed.size() != ed25519_key_size) return crypto_failure("Ed25519 seed must be 32 bytes");
  Owned<EVP_PKEY> key(
      EVP_PKEY_new_raw_private_key_ex(nullptr, "ED25519", nullptr, seed.data(), seed.size()));
  if (!key) return crypto_failure("Ed25519 private key could not be loaded");
  return key;
}

} // namespace

Sha256::Sha256() : m_ctx(EVP_MD_CTX_new()) {
  if (m_ctx == nullptr || EVP_DigestInit_ex2(md_ctx(m_ctx), sha256_md(), nullptr) != 1) {
    die("initialising SHA-256");
  }
}

Sha256::~Sha256() { EVP_MD_CTX_free(md_ctx(m_ctx)); }

void Sha256::update(std::span<const std::uint8_t> data) {
  if (EVP_DigestUpdate(md_ctx(m_ctx), data.data(), data.size()) != 1) die("SHA-256 update");
}

void Sha256::update(std::string_view data) { update(as_bytes(data)); }

// Re-initialising the same context keeps its provider state allocated, so a reused Sha256
// hashes without touching the allocator.
Sha256Digest Sha256::finish() {
  Sha256Digest digest{};
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(md_ctx(m_ctx), digest.data(), &length) != 1 || length != digest.size() ||
      EVP_DigestInit_ex2(md_ctx(m_ctx), nullptr, nullptr) != 1) {
    die("SHA-256 finish");
  }
  return digest;
}

Sha256Digest sha256(std::span<const std::uint8_t> data) {
  thread_local Sha256 hasher;
  hasher.update(data);
  return hasher.finish();
}

Sha256Digest sha256(std::string_view data) { return sha256(as_bytes(data)); }

namespace {

// HMAC with the named digest into `mac`, whose size is the digest's.
void hmac_into(const char* digest, std::span<const std::uint8_t> key, std::span<const std::uint8_t> data,
               std::span<std::uint8_t> mac) {
  Owned<EVP_MAC_CTX> ctx(EVP_MAC_CTX_new(hmac_mac()));
  if (!ctx) die("allocating HMAC context");
  std::string digest_name = digest;
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name.data(), 0),
      OSSL_PARAM_construct_end()};
  std::size_t length = 0;
  if (EVP_MAC_init(ctx.get(), data_or_empty(key), key.size(), params) != 1 ||
      EVP_MAC_update(ctx.get(), data.data(), data.size()) != 1 ||
      EVP_MAC_final(ctx.get(), mac.data(), &length, mac.size()) != 1 || length != mac.size()) {
    die("computing HMAC");
  }
}

} // namespace

Sha256Digest hmac_sha256(std::span<const std::uint8_t> key, std::span<const std::uint8_t> data) {
  Sha256Digest mac{};
  hmac_into("SHA256", key, data, mac);
  return mac;
}

std::array<std::uint8_t, 20> hmac_sha1(std::span<const std::uint8_t> key, std::span<const std::uint8_t> data) {
  std::array<std::uint8_t, 20> mac{};
  hmac_into("SHA1", key, data, mac);
  return mac;
}

Result<Bytes> hkdf_sha256(std::span<const std::uint8_t> ikm, std::span<const std::uint8_t> salt,
                          std::span<const std::uint8_t> info, std::size_t length) {
  if (length > 255 * 32) return crypto_failure("HKDF-SHA256 output is limited to 8160 bytes");
  if (length == 0) return Bytes{};
  Owned<EVP_KDF_CTX> ctx(EVP_KDF_CTX_new(hkdf_kdf()));
  if (!ctx) die("allocating HKDF context");
  char digest_name[] = "SHA256";
  // An absent salt is HashLen zero bytes (RFC 5869 §2.2), which is what OpenSSL assumes when
  // the parameter is missing; an empty info is likewise simply omitted.
  OSSL_PARAM params[5];
  std::size_t count = 0;
  params[count++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest_name, 0);
  params[count++] = OSSL_PARAM_construct_octet_string(
      OSSL_KDF_PARAM_KEY, const_cast<unsigned char*>(data_or_empty(ikm)), ikm.size());
  if (!salt.empty()) {
    params[count++] = OSSL_PARAM_construct_octet_string(
        OSSL_KDF_PARAM_SALT, const_cast<std::uint8_t*>(salt.data()), salt.size());
  }
  if (!info.empty()) {
    params[count++] = OSSL_PARAM_construct_octet_string(
        OSSL_KDF_PARAM_INFO, const_cast<std::uint8_t*>(info.data()), info.size());
  }
  params[count] = OSSL_PARAM_construct_end();
  Bytes out(length);
  if (EVP_KDF_derive(ctx.get(), out.data(), out.size(), params) != 1) {
    wipe(out);
    return crypto_failure("HKDF-SHA256 derivation failed");
  }
  return out;
}

// Inputs of different lengths compare unequal at once: lengths are not secret.
bool equal_constant_time(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(data_or_empty(a), data_or_empty(b), a.size()) == 0;
}

Result<Bytes> random_bytes(std::size_t count) {
  if (count > max_int_length) return crypto_failure("too many random bytes");
  Bytes out(count);
  if (count != 0 && RAND_bytes(out.data(), static_cast<int>(count)) != 1) {
    return crypto_failure("random generator failed");
  }
  return out;
}

void wipe(std::span<std::uint8_t> bytes) {
  if (!bytes.empty()) OPENSSL_cleanse(bytes.data(), bytes.size());
}

Result<Ed25519KeyPair> ed25519_generate() {
  auto seed = CORDON_TRY(random_bytes(ed25519_key_size));
  auto key = ed25519_from_seed(seed);
  wipe(seed);
  return key;
}

Result<Ed25519KeyPair> ed25519_from_seed(std::span<const std::uint8_t> seed) {
  const auto key = CORDON_TRY(ed25519_private_key(seed));
  Ed25519KeyPair pair{};
  std::size_t length = pair.public_key.size();
  if (EVP_PKEY_get_raw_public_key(key.get(), pair.public_key.data(), &length) != 1 ||
      length != pair.public_key.size()) {
    return crypto_failure("Ed25519 public key could not be derived");
  }
  std::copy(seed.begin(), seed.end(), pair.seed.begin());
  return pair;
}

// Signs with the key derived from `key.seed` alone; `key.public_key` is not consulted, so a
// mismatched public key cannot turn signing into an oracle for the private scalar.
Result<std::array<std::uint8_t, 64>> ed25519_sign(const Ed25519KeyPair& key,
                                                  std::span<const std::uint8_t> message) {
  const auto private_key = CORDON_TRY(ed25519_private_key(key.seed));
  Owned<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  if (!ctx) die("allocating signing context");
  std::array<std::uint8_t, ed25519_signature_size> signature{};
  std::size_t length = signature.size();
  if (EVP_DigestSignInit_ex(ctx.get(), nullptr, nullptr, nullptr, nullptr, private_key.get(),
                            nullptr) != 1 ||
      EVP_DigestSign(ctx.get(), signature.data(), &length, data_or_empty(message),
                     message.size()) != 1 ||
      length != signature.size()) {
    return crypto_failure("Ed25519 signing failed");
  }
  return signature;
}

// A public key or signature of the wrong size, or a key OpenSSL cannot load, verifies nothing.
bool ed25519_verify(std::span<const std::uint8_t> public_key, std::span<const std::uint8_t> message,
                    std::span<const std::uint8_t> signature) {
  if (public_key.size() != ed25519_key_size || signature.size() != ed25519_signature_size) {
    return false;
  }
  Owned<EVP_PKEY> key(EVP_PKEY_new_raw_public_key_ex(nullptr, "ED25519", nullptr,
                                                     public_key.data(), public_key.size()));
  Owned<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  const bool valid =
      key && ctx &&
      EVP_DigestVerifyInit_ex(ctx.get(), nullptr, nullptr, nullptr, nullptr, key.get(), nullptr) ==
          1 &&
      EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), data_or_empty(message),
                       message.size()) == 1;
  if (!valid) ERR_clear_error();
  return valid;
}

Result<Bytes> aes256gcm_seal(std::span<const std::uint8_t> key, std::span<const std::uint8_t> nonce,
                             std::span<const std::uint8_t> plaintext,
                             std::span<const std::uint8_t> aad) {
  if (key.size() != aes256_key_size) return crypto_failure("AES-256-GCM key must be 32 bytes");
  if (nonce.size() != gcm_nonce_size) return crypto_failure("AES-GCM nonce must be 12 bytes");
  if (plaintext.size() > max_int_length - gcm_tag_size || aad.size() > max_int_length) {
    return crypto_failure("AES-GCM input is too large");
  }
  Owned<EVP_CIPHER_CTX> ctx(EVP_CIPHER_CTX_new());
  if (!ctx) die("allocating cipher context");
  Bytes out(plaintext.size() + gcm_tag_size);
  int length = 0;
  bool sealed = EVP_EncryptInit_ex2(ctx.get(), aes256gcm_cipher(), key.data(), nonce.data(),
                                    nullptr) == 1;
  sealed = sealed && (aad.empty() || EVP_EncryptUpdate(ctx.get(), nullptr, &length, aad.data(),
                                                       static_cast<int>(aad.size())) == 1);
  sealed = sealed && (plaintext.empty() ||
                      EVP_EncryptUpdate(ctx.get(), out.data(), &length, plaintext.data(),
                                        static_cast<int>(plaintext.size())) == 1);
  sealed = sealed && EVP_EncryptFinal_ex(ctx.get(), out.data() + plaintext.size(), &length) == 1;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG,
                                        out.data() + plaintext.size(), gcm_tag_size),
      OSSL_PARAM_construct_end()};
  sealed = sealed && EVP_CIPHER_CTX_get_params(ctx.get(), params) == 1;
  if (!sealed) {
    wipe(out);
    return crypto_failure("AES-256-GCM encryption failed");
  }
  return out;
}

Result<Bytes> aes256gcm_open(std::span<const std::uint8_t> key, std::span<const std::uint8_t> nonce,
                             std::span<const std::uint8_t> ciphertext_and_tag,
                             std::span<const std::uint8_t> aad) {
  if (key.size() != aes256_key_size) return crypto_failure("AES-256-GCM key must be 32 bytes");
  if (nonce.size() != gcm_nonce_size) return crypto_failure("AES-GCM nonce must be 12 bytes");
  if (ciphertext_and_tag.size() < gcm_tag_size) {
    return fail(Errc::integrity, "AES-GCM ciphertext is shorter than its tag");
  }
  if (ciphertext_and_tag.size() > max_int_length || aad.size() > max_int_length) {
    return crypto_failure("AES-GCM input is too large");
  }
  const auto ciphertext = ciphertext_and_tag.first(ciphertext_and_tag.size() - gcm_tag_size);
  const auto tag = ciphertext_and_tag.last(gcm_tag_size);
  Owned<EVP_CIPHER_CTX> ctx(EVP_CIPHER_CTX_new());
  if (!ctx) die("allocating cipher context");
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG,
                                        const_cast<std::uint8_t*>(tag.data()), tag.size()),
      OSSL_PARAM_construct_end()};
  Bytes out(ciphertext.size());
  int length = 0;
  if (EVP_DecryptInit_ex2(ctx.get(), aes256gcm_cipher(), key.data(), nonce.data(), nullptr) != 1 ||
      EVP_CIPHER_CTX_set_params(ctx.get(), params) != 1 ||
      (!aad.empty() && EVP_DecryptUpdate(ctx.get(), nullptr, &length, aad.data(),
                                         static_cast<int>(aad.size())) != 1) ||
      (!ciphertext.empty() && EVP_DecryptUpdate(ctx.get(), out.data(), &length, ciphertext.data(),
                                                static_cast<int>(ciphertext.size())) != 1)) {
    wipe(out);
    return crypto_failure("AES-256-GCM decryption failed");
  }
  // The tag is checked here, after all ciphertext was processed; nothing is released before.
  if (EVP_DecryptFinal_ex(ctx.get(), out.data() + ciphertext.size(), &length) != 1) {
    wipe(out);
    ERR_clear_error();
    return fail(Errc::integrity, "AES-GCM tag does not verify");
  }
  return out;
}

} // namespace cordon::crypto

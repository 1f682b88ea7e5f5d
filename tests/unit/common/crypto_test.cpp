#include <catch2/catch.hpp>

#include <string>

#include "common/crypto.h"
#include "common/encoding.h"

namespace crypto = cordon::crypto;
using cordon::Bytes;
using cordon::Errc;

namespace {

Bytes hex(std::string_view text) { return cordon::from_hex(text).value(); }

Bytes text_bytes(std::string_view text) {
  const auto view = cordon::as_bytes(text);
  return Bytes(view.begin(), view.end());
}

Bytes repeated(std::uint8_t byte, std::size_t count) { return Bytes(count, byte); }

Bytes counting(std::uint8_t first, std::uint8_t last) {
  Bytes out;
  for (unsigned value = first; value <= last; ++value) {
    out.push_back(static_cast<std::uint8_t>(value));
  }
  return out;
}

template <class Container>
std::string hex_of(const Container& bytes) {
  return cordon::to_hex(std::span<const std::uint8_t>(bytes.data(), bytes.size()));
}

} // namespace

// FIPS 180-2 appendix B and the empty message.
TEST_CASE("SHA-256 matches the NIST vectors") {
  CHECK(hex_of(crypto::sha256("abc")) ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(hex_of(crypto::sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")) ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(hex_of(crypto::sha256("")) ==
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(hex_of(crypto::sha256(std::string(1000000, 'a'))) ==
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("incremental SHA-256 equals the one-shot digest and resets after finish") {
  crypto::Sha256 hasher;
  for (int i = 0; i < 1000; ++i) hasher.update(std::string(1000, 'a'));
  CHECK(hex_of(hasher.finish()) ==
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  hasher.update("a");
  hasher.update(cordon::as_bytes("bc"));
  CHECK(hex_of(hasher.finish()) ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(hex_of(hasher.finish()) ==
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

// RFC 4231 §4; case 5 specifies only a 128-bit truncation, so its prefix is compared.
TEST_CASE("HMAC-SHA256 matches RFC 4231 test cases 1 to 7") {
  CHECK(hex_of(crypto::hmac_sha256(repeated(0x0b, 20), text_bytes("Hi There"))) ==
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  CHECK(hex_of(crypto::hmac_sha256(text_bytes("Jefe"),
                                   text_bytes("what do ya want for nothing?"))) ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  CHECK(hex_of(crypto::hmac_sha256(repeated(0xaa, 20), repeated(0xdd, 50))) ==
        "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
  CHECK(hex_of(crypto::hmac_sha256(counting(0x01, 0x19), repeated(0xcd, 50))) ==
        "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");
  CHECK(hex_of(crypto::hmac_sha256(repeated(0x0c, 20), text_bytes("Test With Truncation")))
            .substr(0, 32) == "a3b6167473100ee06e0c796c2955552b");
  CHECK(hex_of(crypto::hmac_sha256(
            repeated(0xaa, 131),
            text_bytes("Test Using Larger Than Block-Size Key - Hash Key First"))) ==
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  CHECK(hex_of(crypto::hmac_sha256(
            repeated(0xaa, 131),
            text_bytes("This is a test using a larger than block-size key and a larger than "
                       "block-size data. The key needs to be hashed before being used by the "
                       "HMAC algorithm."))) ==
        "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}

TEST_CASE("HMAC-SHA256 accepts an empty key and empty data") {
  CHECK(hex_of(crypto::hmac_sha256({}, {})) ==
        "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

// RFC 5869 appendix A.1 to A.3.
TEST_CASE("HKDF-SHA256 matches RFC 5869 test cases 1 to 3") {
  CHECK(hex_of(crypto::hkdf_sha256(repeated(0x0b, 22), counting(0x00, 0x0c),
                                   counting(0xf0, 0xf9), 42)
                   .value()) ==
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
  CHECK(hex_of(crypto::hkdf_sha256(counting(0x00, 0x4f), counting(0x60, 0xaf),
                                   counting(0xb0, 0xff), 82)
                   .value()) ==
        "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
        "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
        "cc30c58179ec3e87c14c01d5c1f3434f1d87");
  CHECK(hex_of(crypto::hkdf_sha256(repeated(0x0b, 22), {}, {}, 42).value()) ==
        "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
}

TEST_CASE("HKDF-SHA256 allows 8160 bytes of output and refuses more") {
  CHECK(crypto::hkdf_sha256(repeated(0x0b, 22), {}, {}, 255 * 32).value().size() == 8160);
  const auto too_long = crypto::hkdf_sha256(repeated(0x0b, 22), {}, {}, 255 * 32 + 1);
  REQUIRE_FALSE(too_long);
  CHECK(too_long.error().code == Errc::crypto);
}

TEST_CASE("equal_constant_time compares contents and lengths") {
  CHECK(crypto::equal_constant_time(hex("00ff"), hex("00ff")));
  CHECK(crypto::equal_constant_time({}, {}));
  CHECK_FALSE(crypto::equal_constant_time(hex("00ff"), hex("00fe")));
  CHECK_FALSE(crypto::equal_constant_time(hex("00ff"), hex("00ff00")));
}

TEST_CASE("random_bytes returns the requested count and differs between calls") {
  const auto first = crypto::random_bytes(32).value();
  const auto second = crypto::random_bytes(32).value();
  CHECK(first.size() == 32);
  CHECK(first != second);
  CHECK(crypto::random_bytes(0).value().empty());
}

TEST_CASE("wipe zeroes the bytes") {
  Bytes secret = hex("deadbeef");
  crypto::wipe(secret);
  CHECK(secret == Bytes(4, 0));
}

// RFC 8032 §7.1 TEST 1 to TEST 3: secret key (seed), public key, message, signature.
TEST_CASE("Ed25519 derives keys and signs as in RFC 8032 tests 1 to 3") {
  struct Vector {
    std::string_view seed, public_key, message, signature;
  };
  const Vector vectors[] = {
      {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
       "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
       "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
       "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
      {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
       "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
       "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
       "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
      {"c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
       "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
       "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
       "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"},
  };
  for (const auto& vector : vectors) {
    INFO(vector.seed);
    const auto key = crypto::ed25519_from_seed(hex(vector.seed)).value();
    CHECK(hex_of(key.public_key) == vector.public_key);
    const auto signature = crypto::ed25519_sign(key, hex(vector.message)).value();
    CHECK(hex_of(signature) == vector.signature);
    CHECK(crypto::ed25519_verify(key.public_key, hex(vector.message), signature));
  }
}

TEST_CASE("Ed25519 verification refuses a tampered message or signature") {
  // RFC 8032 TEST 2.
  const Bytes public_key = hex("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c");
  Bytes signature = hex("92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
                        "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00");
  REQUIRE(crypto::ed25519_verify(public_key, hex("72"), signature));
  CHECK_FALSE(crypto::ed25519_verify(public_key, hex("73"), signature));
  CHECK_FALSE(crypto::ed25519_verify(public_key, hex("7200"), signature));
  CHECK_FALSE(crypto::ed25519_verify(public_key, {}, signature));
  signature[10] ^= 0x01;
  CHECK_FALSE(crypto::ed25519_verify(public_key, hex("72"), signature));
}

TEST_CASE("Ed25519 verification refuses another key's signature") {
  const auto signer = crypto::ed25519_generate().value();
  const auto other = crypto::ed25519_generate().value();
  const auto signature = crypto::ed25519_sign(signer, text_bytes("checkpoint")).value();
  CHECK(crypto::ed25519_verify(signer.public_key, text_bytes("checkpoint"), signature));
  CHECK_FALSE(crypto::ed25519_verify(other.public_key, text_bytes("checkpoint"), signature));
}

TEST_CASE("Ed25519 verification is false for keys and signatures of the wrong size") {
  const auto key = crypto::ed25519_generate().value();
  const auto signature = crypto::ed25519_sign(key, {}).value();
  const std::span<const std::uint8_t> public_key(key.public_key);
  CHECK_FALSE(crypto::ed25519_verify(public_key.first(31), {}, signature));
  CHECK_FALSE(crypto::ed25519_verify(public_key, {}, std::span(signature).first(63)));
  CHECK_FALSE(crypto::ed25519_verify({}, {}, {}));
}

TEST_CASE("Ed25519 refuses a seed that is not 32 bytes") {
  const auto key = crypto::ed25519_from_seed(repeated(0x01, 31));
  REQUIRE_FALSE(key);
  CHECK(key.error().code == Errc::crypto);
}

TEST_CASE("ed25519_generate returns a usable, fresh key pair") {
  const auto first = crypto::ed25519_generate().value();
  const auto second = crypto::ed25519_generate().value();
  CHECK(first.seed != second.seed);
  CHECK(crypto::ed25519_from_seed(first.seed).value().public_key == first.public_key);
}

// McGrew and Viega, "The Galois/Counter Mode of Operation", test cases 13 to 16 (AES-256).
TEST_CASE("AES-256-GCM seals the GCM specification test cases 13 to 16") {
  const Bytes zero_key(32, 0);
  const Bytes zero_nonce(12, 0);
  CHECK(hex_of(crypto::aes256gcm_seal(zero_key, zero_nonce, {}, {}).value()) ==
        "530f8afbc74536b9a963b4f1c4cb738b");
  CHECK(hex_of(crypto::aes256gcm_seal(zero_key, zero_nonce, Bytes(16, 0), {}).value()) ==
        "cea7403d4d606b6e074ec5d3baf39d18"
        "d0d1c8a799996bf0265b98b5d48ab919");

  const Bytes key = hex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308");
  const Bytes nonce = hex("cafebabefacedbaddecaf888");
  const std::string plaintext = "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
                                "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255";
  CHECK(hex_of(crypto::aes256gcm_seal(key, nonce, hex(plaintext), {}).value()) ==
        "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
        "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad"
        "b094dac5d93471bdec1a502270e3cc6c");
  const Bytes aad = hex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
  CHECK(hex_of(crypto::aes256gcm_seal(key, nonce, hex(plaintext.substr(0, 120)), aad).value()) ==
        "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
        "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"
        "76fc6ece0f4e1768cddf8853bb2d551b");
}

TEST_CASE("AES-256-GCM opens GCM specification test case 16") {
  const Bytes key = hex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308");
  const Bytes nonce = hex("cafebabefacedbaddecaf888");
  const Bytes aad = hex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
  const Bytes sealed = hex("522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
                           "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"
                           "76fc6ece0f4e1768cddf8853bb2d551b");
  CHECK(hex_of(crypto::aes256gcm_open(key, nonce, sealed, aad).value()) ==
        "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
        "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39");
}

TEST_CASE("AES-256-GCM refuses a tampered tag, ciphertext, AAD or nonce as integrity") {
  const Bytes key(32, 0x42);
  const Bytes nonce(12, 0x24);
  const Bytes aad = text_bytes("tenant=acme");
  const Bytes sealed = crypto::aes256gcm_seal(key, nonce, text_bytes("secret value"), aad).value();
  REQUIRE(crypto::aes256gcm_open(key, nonce, sealed, aad).value() == text_bytes("secret value"));

  Bytes bad_tag = sealed;
  bad_tag.at(bad_tag.size() - 1) ^= 0x01;
  Bytes bad_ciphertext = sealed;
  bad_ciphertext.front() ^= 0x01;
  Bytes other_nonce = nonce;
  other_nonce[0] ^= 0x01;
  const auto refused = {
      crypto::aes256gcm_open(key, nonce, bad_tag, aad),
      crypto::aes256gcm_open(key, nonce, bad_ciphertext, aad),
      crypto::aes256gcm_open(key, nonce, sealed, text_bytes("tenant=acmf")),
      crypto::aes256gcm_open(key, nonce, sealed, {}),
      crypto::aes256gcm_open(key, other_nonce, sealed, aad),
      crypto::aes256gcm_open(key, nonce, Bytes(sealed.begin(), sealed.end() - 1), aad),
      crypto::aes256gcm_open(key, nonce, Bytes(15, 0), aad),
  };
  for (const auto& opened : refused) {
    REQUIRE_FALSE(opened);
    CHECK(opened.error().code == Errc::integrity);
  }
}

TEST_CASE("AES-256-GCM refuses keys and nonces of the wrong size") {
  const auto short_key = crypto::aes256gcm_seal(Bytes(16, 0), Bytes(12, 0), {}, {});
  REQUIRE_FALSE(short_key);
  CHECK(short_key.error().code == Errc::crypto);
  CHECK_FALSE(crypto::aes256gcm_seal(Bytes(32, 0), Bytes(16, 0), {}, {}));
  CHECK_FALSE(crypto::aes256gcm_open(Bytes(32, 0), Bytes(8, 0), Bytes(16, 0), {}));
}

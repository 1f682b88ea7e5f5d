#include "provisioning/tls_material.h"

#include <ctime>
#include <memory>

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/crypto.h"
#include "common/encoding.h"
#include "provisioning/network_address.h"

namespace cordon::provisioning {
namespace {

struct OpenSslFree {
  void operator()(BIO* p) const { BIO_free(p); }
  void operator()(BIGNUM* p) const { BN_free(p); }
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
  void operator()(GENERAL_NAMES* p) const { GENERAL_NAMES_free(p); }
  void operator()(BASIC_CONSTRAINTS* p) const { BASIC_CONSTRAINTS_free(p); }
};
template <class T>
using Owned = std::unique_ptr<T, OpenSslFree>;

// Drops OpenSSL's queued errors, which would otherwise be blamed on a later, unrelated call.
tl::unexpected<Error> refused(std::string message) {
  ERR_clear_error();
  return fail(Errc::invalid_argument, std::move(message));
}

tl::unexpected<Error> openssl_failed(std::string what) {
  ERR_clear_error();
  return fail(Errc::crypto, "OpenSSL failed: " + std::move(what));
}

Owned<BIO> memory_bio(std::string_view text) {
  return Owned<BIO>(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

// Refuses to prompt: PEM_read_* would otherwise ask the terminal for an encrypted key's passphrase.
int no_passphrase(char*, int, int, void*) { return -1; }

Result<Owned<X509>> first_certificate(std::string_view pem) {
  auto bio = memory_bio(pem);
  if (!bio) return openssl_failed("BIO_new_mem_buf");
  Owned<X509> cert(PEM_read_bio_X509(bio.get(), nullptr, no_passphrase, nullptr));
  if (!cert) return refused("not a PEM certificate");
  return cert;
}

Result<Owned<EVP_PKEY>> private_key(std::string_view pem) {
  auto bio = memory_bio(pem);
  if (!bio) return openssl_failed("BIO_new_mem_buf");
  Owned<EVP_PKEY> key(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
  if (!key) return refused("not an unencrypted PEM private key");
  return key;
}

Result<std::string> bio_text(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  if (size <= 0 || data == nullptr) return openssl_failed("reading a memory BIO");
  return std::string(data, static_cast<std::size_t>(size));
}

Result<void> add_extension(X509* cert, int nid, const char* value) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, cert, cert, nullptr, nullptr, 0);
  Owned<X509_EXTENSION> extension(X509V3_EXT_nconf_nid(nullptr, &context, nid, value));
  if (!extension || X509_add_ext(cert, extension.get(), -1) != 1) return openssl_failed(std::string("adding ") + value);
  return ok();
}

Result<void> add_subject_alt_names(X509* cert, const std::vector<std::string>& names) {
  Owned<GENERAL_NAMES> list(sk_GENERAL_NAME_new_null());
  if (!list) return openssl_failed("sk_GENERAL_NAME_new_null");
  for (const auto& name : names) {
    GENERAL_NAME* entry = GENERAL_NAME_new();
    if (entry == nullptr) return openssl_failed("GENERAL_NAME_new");
    if (is_ip_address(name)) {
      ASN1_OCTET_STRING* address = a2i_IPADDRESS(name.c_str());
      if (address == nullptr) {
        GENERAL_NAME_free(entry);
        return refused(name + " is not an IP address");
      }
      GENERAL_NAME_set0_value(entry, GEN_IPADD, address);
    } else {
      ASN1_IA5STRING* dns = ASN1_IA5STRING_new();
      if (dns == nullptr || ASN1_STRING_set(dns, name.data(), static_cast<int>(name.size())) != 1) {
        ASN1_IA5STRING_free(dns);
        GENERAL_NAME_free(entry);
        return openssl_failed("ASN1_STRING_set");
      }
      GENERAL_NAME_set0_value(entry, GEN_DNS, dns);
    }
    if (sk_GENERAL_NAME_push(list.get(), entry) <= 0) {
      GENERAL_NAME_free(entry);
      return openssl_failed("sk_GENERAL_NAME_push");
    }
  }
  if (X509_add1_ext_i2d(cert, NID_subject_alt_name, list.get(), 0, X509V3_ADD_DEFAULT) != 1)
    return openssl_failed("adding subjectAltName");
  return ok();
}

// A positive 127-bit serial number: unique without a registry, as RFC 5280 asks of a CA.
Result<void> set_random_serial(X509* cert) {
  auto bytes = crypto::random_bytes(16);
  if (!bytes) return tl::unexpected(bytes.error());
  (*bytes)[0] &= 0x7f;
  Owned<BIGNUM> serial(BN_bin2bn(bytes->data(), static_cast<int>(bytes->size()), nullptr));
  if (!serial || BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert)) == nullptr)
    return openssl_failed("setting the serial number");
  return ok();
}

} // namespace

Result<TlsPair> generate_self_signed_certificate(const std::vector<std::string>& names,
                                                 std::chrono::system_clock::time_point now) {
  if (names.empty()) return refused("a certificate needs at least one name");
  Owned<EVP_PKEY> key(EVP_EC_gen("P-256"));
  if (!key) return openssl_failed("generating a P-256 key");
  Owned<X509> cert(X509_new());
  if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1) return openssl_failed("X509_new");
  CORDON_TRY_VOID(set_random_serial(cert.get()));
  // Valid from an hour ago: a client whose clock is a little behind still accepts it at once.
  const std::time_t start = std::chrono::system_clock::to_time_t(now);
  if (ASN1_TIME_set(X509_getm_notBefore(cert.get()), start - 3600) == nullptr ||
      ASN1_TIME_adj(X509_getm_notAfter(cert.get()), start, static_cast<int>(self_signed_lifetime.count()), 0) == nullptr)
    return openssl_failed("setting the validity");
  if (X509_set_pubkey(cert.get(), key.get()) != 1) return openssl_failed("X509_set_pubkey");
  X509_NAME* subject = X509_get_subject_name(cert.get());
  // A CN holds at most 64 bytes; the subjectAltName, which clients check, holds the full name.
  const std::string common_name = names.front().substr(0, 64);
  if (X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1, 0) != 1 ||
      X509_set_issuer_name(cert.get(), subject) != 1)
    return openssl_failed("setting the subject");
  CORDON_TRY_VOID(add_extension(cert.get(), NID_basic_constraints, "critical,CA:FALSE"));
  CORDON_TRY_VOID(add_extension(cert.get(), NID_key_usage, "critical,digitalSignature"));
  CORDON_TRY_VOID(add_extension(cert.get(), NID_ext_key_usage, "serverAuth"));
  CORDON_TRY_VOID(add_extension(cert.get(), NID_subject_key_identifier, "hash"));
  CORDON_TRY_VOID(add_subject_alt_names(cert.get(), names));
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) <= 0) return openssl_failed("X509_sign");

  Owned<BIO> cert_out(BIO_new(BIO_s_mem()));
  Owned<BIO> key_out(BIO_new(BIO_s_mem()));
  if (!cert_out || !key_out || PEM_write_bio_X509(cert_out.get(), cert.get()) != 1 ||
      PEM_write_bio_PrivateKey(key_out.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
    return openssl_failed("writing PEM");
  TlsPair pair;
  pair.cert_pem = CORDON_TRY(bio_text(cert_out.get()));
  pair.key_pem = CORDON_TRY(bio_text(key_out.get()));
  // The key's PEM stays in the memory BIO's buffer until freed; clear it first.
  char* data = nullptr;
  const long size = BIO_get_mem_data(key_out.get(), &data);
  if (data != nullptr && size > 0) OPENSSL_cleanse(data, static_cast<std::size_t>(size));
  return pair;
}

Result<std::size_t> count_certificates(std::string_view pem) {
  auto bio = memory_bio(pem);
  if (!bio) return openssl_failed("BIO_new_mem_buf");
  std::size_t count = 0;
  while (true) {
    Owned<X509> cert(PEM_read_bio_X509(bio.get(), nullptr, no_passphrase, nullptr));
    if (!cert) break;
    ++count;
  }
  const unsigned long last = ERR_peek_last_error();
  const bool clean_end = ERR_GET_LIB(last) == ERR_LIB_PEM && ERR_GET_REASON(last) == PEM_R_NO_START_LINE;
  ERR_clear_error();
  if (count == 0) return refused("holds no PEM certificate");
  if (!clean_end) return refused("certificate " + std::to_string(count + 1) + " does not parse");
  return count;
}

Result<void> check_private_key(std::string_view pem) {
  if (auto key = private_key(pem); !key) return tl::unexpected(key.error());
  return ok();
}

Result<void> check_key_matches(std::string_view cert_pem, std::string_view key_pem) {
  auto cert = CORDON_TRY(first_certificate(cert_pem));
  auto key = CORDON_TRY(private_key(key_pem));
  if (X509_check_private_key(cert.get(), key.get()) != 1) return refused("the key does not match the certificate");
  return ok();
}

Result<void> check_certificate_names(std::string_view cert_pem, const std::vector<std::string>& names) {
  auto cert = CORDON_TRY(first_certificate(cert_pem));
  for (const auto& name : names) {
    const int covered = is_ip_address(name) ? X509_check_ip_asc(cert.get(), name.c_str(), 0)
                                            : X509_check_host(cert.get(), name.data(), name.size(), 0, nullptr);
    if (covered != 1) return refused("the certificate is not valid for " + name);
  }
  return ok();
}

Result<void> check_certificate_validity(std::string_view cert_pem, std::chrono::system_clock::time_point now) {
  auto cert = CORDON_TRY(first_certificate(cert_pem));
  std::time_t moment = std::chrono::system_clock::to_time_t(now);
  if (X509_cmp_time(X509_get0_notBefore(cert.get()), &moment) > 0) return refused("the certificate is not valid yet");
  if (X509_cmp_time(X509_get0_notAfter(cert.get()), &moment) < 0) return refused("the certificate has expired");
  return ok();
}

Result<void> check_server_certificate(const TlsPair& pair, const std::vector<std::string>& names,
                                      std::chrono::system_clock::time_point now) {
  if (auto counted = count_certificates(pair.cert_pem); !counted) return tl::unexpected(counted.error());
  CORDON_TRY_VOID(check_key_matches(pair.cert_pem, pair.key_pem));
  CORDON_TRY_VOID(check_certificate_names(pair.cert_pem, names));
  return check_certificate_validity(pair.cert_pem, now);
}

Result<std::string> certificate_sha256(std::string_view cert_pem) {
  auto cert = CORDON_TRY(first_certificate(cert_pem));
  unsigned char* der = nullptr;
  const int size = i2d_X509(cert.get(), &der);
  if (size <= 0) return openssl_failed("i2d_X509");
  const auto digest = crypto::sha256(std::span<const std::uint8_t>(der, static_cast<std::size_t>(size)));
  OPENSSL_free(der);
  return to_hex(digest);
}

Result<std::vector<std::string>> subject_alt_names(std::string_view cert_pem) {
  auto cert = CORDON_TRY(first_certificate(cert_pem));
  Owned<GENERAL_NAMES> list(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert.get(), NID_subject_alt_name, nullptr, nullptr)));
  std::vector<std::string> names;
  if (!list) return names;
  for (int i = 0; i < sk_GENERAL_NAME_num(list.get()); ++i) {
    const GENERAL_NAME* entry = sk_GENERAL_NAME_value(list.get(), i);
    if (entry->type == GEN_DNS) {
      const ASN1_IA5STRING* dns = entry->d.dNSName;
      names.push_back("DNS:" + std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(dns)),
                                           static_cast<std::size_t>(ASN1_STRING_length(dns))));
    } else if (entry->type == GEN_IPADD) {
      const ASN1_OCTET_STRING* address = entry->d.iPAddress;
      const int length = ASN1_STRING_length(address);
      char text[INET6_ADDRSTRLEN] = {};
      const int family = length == 4 ? AF_INET : length == 16 ? AF_INET6 : AF_UNSPEC;
      if (family == AF_UNSPEC || ::inet_ntop(family, ASN1_STRING_get0_data(address), text, sizeof text) == nullptr)
        return refused("the certificate holds a malformed IP subjectAltName");
      names.push_back("IP:" + std::string(text));
    }
  }
  return names;
}

} // namespace cordon::provisioning

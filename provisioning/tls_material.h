#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

// The appliance's TLS server certificate (auditd's auditor listener and approvald's approver
// listener share it): checking one a bundle brings, or making a self-signed one. OpenSSL 3's
// EVP and X509 APIs; every function fails with Errc::invalid_argument for input that does not
// parse or fit and Errc::crypto when OpenSSL itself fails. Key material never enters a message.
namespace cordon::provisioning {

struct TlsPair {
  std::string cert_pem; // the server certificate first, then any intermediates
  std::string key_pem;  // its private key, unencrypted PKCS#8 PEM
};

// How long a generated certificate is valid.
inline constexpr std::chrono::days self_signed_lifetime{730};

// A fresh ECDSA P-256 key and a self-signed X.509 v3 certificate for it, valid from an hour
// before `now` (for clients whose clock lags) until self_signed_lifetime after it: subject CN and the first subjectAltName are names[0]; every name is a
// subjectAltName, as IP: when it is an address literal, as DNS: otherwise. basicConstraints
// CA:FALSE, keyUsage digitalSignature, extendedKeyUsage serverAuth, SHA-256 signature. P-256
// rather than Ed25519: browsers, curl and every TLS 1.3 stack take it. `names` must be
// non-empty and valid (provisioning/network_address.h).
Result<TlsPair> generate_self_signed_certificate(const std::vector<std::string>& names,
                                                 std::chrono::system_clock::time_point now);

// The number of PEM certificates in `pem`; fails when there is none or one does not parse.
Result<std::size_t> count_certificates(std::string_view pem);
// Fails when `pem` holds no private key, or an encrypted one (nothing could type its passphrase).
Result<void> check_private_key(std::string_view pem);
// Fails unless the first certificate of `cert_pem` is for the key in `key_pem`.
Result<void> check_key_matches(std::string_view cert_pem, std::string_view key_pem);
// Fails naming the first of `names` the first certificate does not cover (wildcards count).
Result<void> check_certificate_names(std::string_view cert_pem, const std::vector<std::string>& names);
// Fails unless `now` lies within the first certificate's validity.
Result<void> check_certificate_validity(std::string_view cert_pem, std::chrono::system_clock::time_point now);
// All of the above: a pair a server can use for `names` at `now`.
Result<void> check_server_certificate(const TlsPair& pair, const std::vector<std::string>& names,
                                      std::chrono::system_clock::time_point now);

// Lowercase hex SHA-256 of the first certificate's DER: what auditors pin.
Result<std::string> certificate_sha256(std::string_view cert_pem);
// The first certificate's subjectAltNames as "DNS:<name>" and "IP:<address>".
Result<std::vector<std::string>> subject_alt_names(std::string_view cert_pem);

} // namespace cordon::provisioning

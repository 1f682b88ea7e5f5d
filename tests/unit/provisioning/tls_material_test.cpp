#include <catch2/catch.hpp>

#include <chrono>

#include "provisioning/tls_material.h"

using namespace cordon;
using namespace cordon::provisioning;

TEST_CASE("a self-signed certificate parses, names its hosts and fits its key") {
  const auto now = std::chrono::system_clock::now();
  auto pair = generate_self_signed_certificate({"cordon.acme.example", "10.0.2.15", "2001:db8::5"}, now);
  REQUIRE(pair);
  CHECK_THAT(pair->cert_pem, Catch::StartsWith("-----BEGIN CERTIFICATE-----"));
  CHECK_THAT(pair->key_pem, Catch::StartsWith("-----BEGIN PRIVATE KEY-----"));
  auto count = count_certificates(pair->cert_pem);
  REQUIRE(count);
  CHECK(*count == 1);
  auto names = subject_alt_names(pair->cert_pem);
  REQUIRE(names);
  CHECK(*names == std::vector<std::string>{"DNS:cordon.acme.example", "IP:10.0.2.15", "IP:2001:db8::5"});
  CHECK(check_key_matches(pair->cert_pem, pair->key_pem));
  CHECK(check_certificate_names(pair->cert_pem, {"cordon.acme.example", "10.0.2.15"}));
  CHECK(check_certificate_validity(pair->cert_pem, now));
  CHECK(check_certificate_validity(pair->cert_pem, now + std::chrono::days(729)));
  CHECK_FALSE(check_certificate_validity(pair->cert_pem, now + std::chrono::days(731)));
  auto digest = certificate_sha256(pair->cert_pem);
  REQUIRE(digest);
  CHECK(digest->size() == 64);
}

TEST_CASE("another key, another host or a broken PEM does not pass for the certificate") {
  const auto now = std::chrono::system_clock::now();
  auto pair = generate_self_signed_certificate({"cordon.acme.example"}, now);
  auto other = generate_self_signed_certificate({"cordon.acme.example"}, now);
  REQUIRE(pair);
  REQUIRE(other);
  CHECK(*certificate_sha256(pair->cert_pem) != *certificate_sha256(other->cert_pem));
  auto mismatch = check_key_matches(pair->cert_pem, other->key_pem);
  REQUIRE_FALSE(mismatch);
  CHECK(mismatch.error().code == Errc::invalid_argument);
  CHECK_FALSE(check_certificate_names(pair->cert_pem, {"other.acme.example"}));
  CHECK_FALSE(check_certificate_names(pair->cert_pem, {"10.0.2.15"}));
  CHECK_FALSE(count_certificates("not a certificate"));
  CHECK_FALSE(check_private_key(pair->cert_pem));
  CHECK_FALSE(check_server_certificate({pair->cert_pem, other->key_pem}, {"cordon.acme.example"}, now));
}

#include <catch2/catch.hpp>

#include "provisioning/network_address.h"

using namespace cordon::provisioning;

TEST_CASE("allow-list entries are numeric addresses or CIDR blocks only") {
  CHECK(is_address_or_prefix("10.0.0.5"));
  CHECK(is_address_or_prefix("10.0.0.0/8"));
  CHECK(is_address_or_prefix("2001:db8::1"));
  CHECK(is_address_or_prefix("2001:db8::/32"));
  CHECK_FALSE(is_address_or_prefix("10.0.0.256"));
  CHECK_FALSE(is_address_or_prefix("10.0.0.0/33"));
  CHECK_FALSE(is_address_or_prefix("10.0.0.0/"));
  CHECK_FALSE(is_address_or_prefix("2001:db8::/129"));
  CHECK_FALSE(is_address_or_prefix("any"));
  CHECK_FALSE(is_address_or_prefix("localhost"));
  CHECK_FALSE(is_address_or_prefix("[::1]"));
}

TEST_CASE("host names are lowercase DNS names or address literals") {
  CHECK(is_host("cordon.acme.example"));
  CHECK(is_host("localhost"));
  CHECK(is_host("10.0.2.15"));
  CHECK(is_host("::1"));
  CHECK_FALSE(is_host("Cordon.acme.example"));
  CHECK_FALSE(is_host("-bad.example"));
  CHECK_FALSE(is_host("bad..example"));
  CHECK_FALSE(is_host("10.0.0.300"));
  CHECK_FALSE(is_host(""));
  CHECK(url_host("::1") == "[::1]");
  CHECK(url_host("10.0.2.15") == "10.0.2.15");
}

#include <catch2/catch.hpp>

#include "provisioning/shadow_file.h"

using namespace cordon;
using namespace cordon::provisioning;

TEST_CASE("setting root's password hash changes only the second field of root's line") {
  const std::string before = "daemon:*:19000:0:99999:7:::\n"
                             "root:!*:19000:0:99999:7:::\n"
                             "rootless:!:19000:0:99999:7:::\n"
                             "alice:$6$abc$def:19000:0:99999:7:::";
  auto after = with_root_password_hash(before, "$6$salt$hash");
  REQUIRE(after);
  CHECK(*after == "daemon:*:19000:0:99999:7:::\n"
                  "root:$6$salt$hash:19000:0:99999:7:::\n"
                  "rootless:!:19000:0:99999:7:::\n"
                  "alice:$6$abc$def:19000:0:99999:7:::");
}

TEST_CASE("a shadow file without root, or a hash that would break the line, is refused") {
  auto missing = with_root_password_hash("daemon:*:19000:0:99999:7:::\nrootless:!:1::::::\n", "$6$salt$hash");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == Errc::not_found);
  CHECK_FALSE(with_root_password_hash("root:!:1::::::\n", "$6$salt:hash"));
  CHECK_FALSE(with_root_password_hash("root:!:1::::::\n", "$6$salt\nevil::0:0"));
  CHECK_FALSE(with_root_password_hash("root\n", "$6$salt$hash"));
}

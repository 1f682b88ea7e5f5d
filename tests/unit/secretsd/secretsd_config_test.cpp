// secretsd's configuration: defaults, KEK custody and the values it refuses.
#include <catch2/catch.hpp>

#include "common/config.h"
#include "secretsd/secretsd_config.h"

using namespace cordon;
using namespace cordon::secretsd;

namespace {
Result<SecretsdConfig> parse_text(const std::string& secretsd_lines) {
  auto file = ConfigFile::parse("tenant = \"acme\"\n\n[secretsd]\n" + secretsd_lines, "/etc/cordon/cordon.toml");
  if (!file) return tl::unexpected<Error>(file.error());
  return parse_secretsd_config(*file);
}
} // namespace

TEST_CASE("a TPM custody with PCRs and the defaults around it") {
  auto config = parse_text("[secretsd.kek]\ncustody = \"tpm\"\npcrs = [\"7\", \"11\"]\n");
  INFO((config ? std::string() : config.error().message));
  REQUIRE(config);
  CHECK(config->kek.custody == KekCustodyKind::tpm);
  CHECK(config->kek.tcti == "device:/dev/tpmrm0");
  CHECK(config->kek.pcrs == std::vector<unsigned>{7, 11});
  CHECK(config->lease_ttl == std::chrono::seconds(60));
  CHECK(config->checkpoint_origin == "acme.cordon.local/audit");
  CHECK(config->socket == "/run/cordon/secretsd.sock");
}

TEST_CASE("a lease TTL above 60 seconds, an unknown custody, a bad PCR and unknown keys are refused") {
  CHECK(parse_text("lease_ttl_s = 61\n[secretsd.kek]\ncustody = \"key_file\"\n").error().code == Errc::invalid_argument);
  CHECK(parse_text("[secretsd.kek]\ncustody = \"hsm\"\n").error().code == Errc::invalid_argument);
  CHECK(parse_text("[secretsd.kek]\ncustody = \"tpm\"\npcrs = [\"24\"]\n").error().code == Errc::invalid_argument);
  CHECK(parse_text("colour = \"blue\"\n[secretsd.kek]\ncustody = \"tpm\"\n").error().code == Errc::unknown_field);
  CHECK(parse_text("").error().code == Errc::not_found); // [secretsd.kek] is required: custody is a choice
}

#include <catch2/catch.hpp>

#include <chrono>
#include <string>

#include "provisioning/configure.h"
#include "provisioning/tls_material.h"
#include "provisioning/toml_text.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/provisioning/provisioning_fixtures.h"

using namespace cordon;
using namespace cordon::provisioning;
using namespace cordon::provisioning::testing;

namespace {

// `configure --root` on `bundle` fails naming `key`, and leaves the root as empty as it was.
void require_refused(const std::string& bundle, const std::string& key) {
  cordon::testing::TempDir dir("cordon-prov");
  write_text(dir / "bundle.toml", bundle);
  std::filesystem::create_directory(dir / "root");
  auto report = configure(configure_options(dir / "bundle.toml", dir / "root"));
  INFO(bundle);
  REQUIRE_FALSE(report);
  INFO(report.error().message);
  CHECK_THAT(report.error().message, Catch::StartsWith("the bundle is not valid: " + key));
  CHECK_THAT(report.error().message, Catch::EndsWith("(read from " + (dir / "bundle.toml").string() + ")"));
  CHECK(is_empty_directory(dir / "root"));
}

std::string tls_table(const TlsPair& pair) {
  return "\n[tls]\ncert = " + toml_string(pair.cert_pem) + "\nkey = " + toml_string(pair.key_pem) + "\n";
}

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

} // namespace

TEST_CASE("the example bundle and the minimal bundle are accepted") {
  auto example = check_bundle(example_bundle(), std::chrono::system_clock::now());
  REQUIRE(example);
  CHECK(example->tenant == "acme");
  CHECK(example->approvers.size() == 2);
  CHECK(example->kek.pcrs == std::vector<unsigned>{7});
  CHECK(example->audit_origin == "acme.cordon.local/audit");
  CHECK_THAT(describe(*example), Catch::StartsWith("tenant acme at cordon.acme.example, 2 approvers, 2 webhooks"));
  auto minimal = check_bundle(minimal_bundle(), std::chrono::system_clock::now());
  REQUIRE(minimal);
  CHECK(minimal->dry_run_days == 7);
  CHECK(minimal->kek.custody == KekCustody::tpm);
  CHECK_FALSE(minimal->tls);
}

TEST_CASE("a bundle without a tenant is refused naming tenant") {
  require_refused(replaced(minimal_bundle(), "tenant = \"acme\"\n", ""), "tenant: required, but missing");
}

TEST_CASE("a tenant that is not [a-z0-9-] is refused") {
  require_refused(replaced(minimal_bundle(), "tenant = \"acme\"", "tenant = \"Acme_Corp\""), "tenant: must match");
  require_refused(replaced(minimal_bundle(), "tenant = \"acme\"", "tenant = \"-acme\""), "tenant: must match");
}

TEST_CASE("a bundle of another version is refused") {
  require_refused(replaced(minimal_bundle(), "bundle_version = 1", "bundle_version = 2"), "bundle_version: is 2");
  require_refused(replaced(minimal_bundle(), "bundle_version = 1\n", ""), "bundle_version: required");
}

TEST_CASE("a bundle without approvers is refused") {
  const std::string bundle = minimal_bundle();
  require_refused(bundle.substr(0, bundle.find("[[approvers]]")), "approvers: at least one");
}

TEST_CASE("a TOTP secret that is short or not base32 is refused") {
  require_refused(replaced(minimal_bundle(), "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "JBSWY3DPEHPK3PXP"),
                  "approvers[0].totp_secret: decodes to 10 bytes");
  require_refused(replaced(minimal_bundle(), "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "JBSWY3DP EHPK3PXP JBSWY3DP EHPK3PXP"),
                  "approvers[0].totp_secret: not base32");
  require_refused(replaced(minimal_bundle(), "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PX1"),
                  "approvers[0].totp_secret: not base32");
}

TEST_CASE("an approver listed twice is refused") {
  require_refused(minimal_bundle("", "\n[[approvers]]\nname = \"alice\"\nemail = \"a2@acme.example\"\n"
                                     "totp_secret = \"KRUGS4ZANFZSAYJAORSXG5BAONSWG4TF\"\n"),
                  "approvers[1].name: \"alice\" is listed twice");
}

TEST_CASE("an unknown key is refused by name, at the root and in a table") {
  require_refused(minimal_bundle("dry_run_dayz = 3\n"), "unknown key dry_run_dayz");
  require_refused(minimal_bundle("", "\n[kek]\ncustdy = \"tpm\"\n"), "unknown key kek.custdy");
  require_refused(replaced(minimal_bundle(), "totp_secret =", "otp_secret = \"x\"\ntotp_secret ="),
                  "unknown key approvers[0].otp_secret");
}

TEST_CASE("a TLS certificate without its key is refused") {
  auto pair = generate_self_signed_certificate({"cordon.acme.example"}, std::chrono::system_clock::now());
  REQUIRE(pair);
  require_refused(minimal_bundle("", "\n[tls]\ncert = " + toml_string(pair->cert_pem) + "\n"), "tls.key: missing");
  require_refused(minimal_bundle("", "\n[tls]\nkey = " + toml_string(pair->key_pem) + "\n"), "tls.cert: missing");
}

TEST_CASE("a TLS key that does not match the certificate is refused") {
  const auto now = std::chrono::system_clock::now();
  auto pair = generate_self_signed_certificate({"cordon.acme.example"}, now);
  auto other = generate_self_signed_certificate({"cordon.acme.example"}, now);
  REQUIRE(pair);
  REQUIRE(other);
  require_refused(minimal_bundle("", tls_table({pair->cert_pem, other->key_pem})), "tls.key: does not match tls.cert");
}

TEST_CASE("a TLS certificate for another host, or one that does not parse, is refused") {
  const auto now = std::chrono::system_clock::now();
  auto elsewhere = generate_self_signed_certificate({"other.example"}, now);
  REQUIRE(elsewhere);
  require_refused(minimal_bundle("", tls_table(*elsewhere)), "tls.cert: the certificate is not valid for cordon.acme.example");
  require_refused(minimal_bundle("", tls_table({"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", elsewhere->key_pem})),
                  "tls.cert:");
}

TEST_CASE("a bundle's own TLS certificate and key are accepted when they fit") {
  auto pair = generate_self_signed_certificate({"cordon.acme.example"}, std::chrono::system_clock::now());
  REQUIRE(pair);
  auto bundle = check_bundle(minimal_bundle("", tls_table(*pair)), std::chrono::system_clock::now());
  REQUIRE(bundle);
  REQUIRE(bundle->tls);
  CHECK(bundle->tls->cert_pem == pair->cert_pem);
}

TEST_CASE("an address that is not an IP address or CIDR block is refused") {
  const std::string database = "\n[[databases]]\nname = \"crm\"\ndsn = \"host=db dbname=crm\"\naddress = \"ADDRESS\"\n";
  require_refused(minimal_bundle("", replaced(database, "ADDRESS", "10.0.0.300")), "databases[0].address:");
  require_refused(minimal_bundle("", replaced(database, "ADDRESS", "db.acme.example")), "databases[0].address:");
  require_refused(minimal_bundle("", replaced(database, "ADDRESS", "10.0.0.0/33")), "databases[0].address:");
  require_refused(minimal_bundle("", replaced(database, "ADDRESS", "any")), "databases[0].address:");
  require_refused(minimal_bundle("", "\n[[http_hosts]]\nhost = \"api.example.com\"\naddress = \"2001:db8::/129\"\n"),
                  "http_hosts[0].address:");
  CHECK(check_bundle(minimal_bundle("", replaced(database, "ADDRESS", "2001:db8::/48")), std::chrono::system_clock::now()));
}

TEST_CASE("key_file custody without allow_development is refused") {
  require_refused(minimal_bundle("", "\n[kek]\ncustody = \"key_file\"\n"), "kek.custody: key_file keeps the KEK in a plain file");
  auto allowed = check_bundle(minimal_bundle("", "\n[kek]\ncustody = \"key_file\"\nallow_development = true\n"),
                              std::chrono::system_clock::now());
  REQUIRE(allowed);
  CHECK(allowed->kek.custody == KekCustody::key_file);
  require_refused(minimal_bundle("", "\n[kek]\npcrs = [\"sha1:7\"]\n"), "kek.pcrs[0]:");
}

TEST_CASE("a constitution file name outside ^[0-9a-z._-]+\\.toml$ is refused") {
  const std::string entry = "\n[[constitution]]\nfile = \"NAME\"\ntext = \"description = \\\"x\\\"\"\n";
  require_refused(minimal_bundle("", replaced(entry, "NAME", "../10-base.toml")), "constitution[0].file:");
  require_refused(minimal_bundle("", replaced(entry, "NAME", "10-Base.toml")), "constitution[0].file:");
  require_refused(minimal_bundle("", replaced(entry, "NAME", "10-base.txt")), "constitution[0].file:");
}

TEST_CASE("a constitution approvald would refuse is refused") {
  require_refused(minimal_bundle("", "\n[[constitution]]\nfile = \"10-base.toml\"\ntext = \"[[rule]]\\nid = \\\"floor.mine\\\"\\n\"\n"),
                  "constitution: ");
}

TEST_CASE("malformed TOML is refused with its line") {
  require_refused(minimal_bundle("dry_run_days = = 3\n"), "line 4, column");
}

TEST_CASE("a bundle over 1 MiB is refused before it is parsed") {
  const std::string huge = minimal_bundle("# " + std::string(std::size_t{1} << 20, 'x') + "\n");
  cordon::testing::TempDir dir("cordon-prov");
  write_text(dir / "bundle.toml", huge);
  std::filesystem::create_directory(dir / "root");
  auto report = configure(configure_options(dir / "bundle.toml", dir / "root"));
  REQUIRE_FALSE(report);
  CHECK(report.error().code == Errc::too_large);
  CHECK_THAT(report.error().message, Catch::Contains("1 MiB"));
  CHECK(is_empty_directory(dir / "root"));
  auto parsed = check_bundle(huge, std::chrono::system_clock::now());
  REQUIRE_FALSE(parsed);
  CHECK(parsed.error().code == Errc::too_large);
}

TEST_CASE("a webhook's own CA must be PEM certificates") {
  const std::string webhook = "\n[[webhooks]]\ntype = \"slack\"\nurl = \"https://hooks.acme.example/x\"\naddress = \"192.0.2.1\"\n";
  require_refused(minimal_bundle("", webhook + "ca = \"not a certificate\"\n"), "webhooks[0].ca:");
  require_refused(minimal_bundle("", webhook + "ca = \"-----BEGIN CERTIFICATE-----\\nAAAA\\n-----END CERTIFICATE-----\\n\"\n"),
                  "webhooks[0].ca:");
}

TEST_CASE("an HTTP host's own CA must be PEM certificates") {
  const std::string host = "\n[[http_hosts]]\nhost = \"api.acme.internal\"\naddress = \"192.0.2.7\"\n";
  require_refused(minimal_bundle("", host + "ca = \"not a certificate\"\n"), "http_hosts[0].ca:");
  require_refused(minimal_bundle("", host + "ca = \"-----BEGIN CERTIFICATE-----\\nAAAA\\n-----END CERTIFICATE-----\\n\"\n"),
                  "http_hosts[0].ca:");
}

TEST_CASE("a generic webhook needs its key and a Slack webhook takes none") {
  require_refused(minimal_bundle("", "\n[[webhooks]]\ntype = \"generic\"\nurl = \"https://hooks.acme.example/x\"\naddress = \"192.0.2.1\"\n"),
                  "webhooks[0].secret:");
  require_refused(minimal_bundle("", "\n[[webhooks]]\ntype = \"slack\"\nurl = \"https://hooks.slack.com/x\"\naddress = \"192.0.2.1\"\n"
                                     "secret = \"0123456789abcdef\"\n"),
                  "webhooks[0].secret:");
  require_refused(minimal_bundle("", "\n[[webhooks]]\ntype = \"slack\"\nurl = \"http://hooks.slack.com/x\"\naddress = \"192.0.2.1\"\n"),
                  "webhooks[0].url:");
}

TEST_CASE("a console password that is not a SHA-512 crypt hash is refused") {
  require_refused(minimal_bundle("", "\n[admin]\nconsole_password_sha512 = \"hunter2\"\n"), "admin.console_password_sha512:");
  require_refused(minimal_bundle("", "\n[admin]\nconsole_password_sha512 = \"$1$salt$abcdefghijklmnopqrstuv\"\n"),
                  "admin.console_password_sha512:");
}

TEST_CASE("agents need a client CA or a bearer token digest") {
  const std::string digest = "bearer_token_sha256 = [\"4a0b7efcc66677c05d97ed1c128f7dcdf1b172c4c377feb96f353849f3d79fd5\"]\n";
  require_refused(replaced(minimal_bundle(), "[agents]\n" + digest, ""), "agents:");
  require_refused(replaced(minimal_bundle(), digest, ""), "agents: give client_ca or bearer_token_sha256, or no agent could ever authenticate");
  require_refused(replaced(minimal_bundle(), "4a0b7efcc66677c05d97ed1c128f7dcdf1b172c4c377feb96f353849f3d79fd5", "4a0b7efcc66677c05d97ed1c128f7dcdf1b172c4c377feb96f353849f3d7"), "agents.bearer_token_sha256[0]:");
}

TEST_CASE("auditors need a client CA or a bearer token digest") {
  require_refused(replaced(minimal_bundle(), "bearer_token_sha256 = [\"9f2f126aca8be7a280e6f5b1e61e8b49baf46c58547f2f17efa6e1ee99a1ac74\"]\n", ""),
                  "auditors: give client_ca or bearer_token_sha256");
  require_refused(replaced(minimal_bundle(), "9f2f126aca8be7a280e6f5b1e61e8b49baf46c58547f2f17efa6e1ee99a1ac74", "9f2f"),
                  "auditors.bearer_token_sha256[0]:");
}

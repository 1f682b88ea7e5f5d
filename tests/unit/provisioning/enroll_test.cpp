// `cordon-provision enroll` against a real auditd and secretsd (key_file custody), as the
// first-boot unit runs it once they are up. This process's uid holds the admin role on both.
#include <catch2/catch.hpp>

#include <memory>
#include <sstream>
#include <string>

#include "common/ipc/unix_client.h"
#include "common/json.h"
#include "provisioning/configure.h"
#include "provisioning/enrollment.h"
#include "tests/support/auditd_process.h"
#include "tests/support/secretsd_process.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/provisioning/provisioning_fixtures.h"

using namespace cordon;
using namespace cordon::provisioning;
using namespace cordon::provisioning::testing;

namespace {

// A configured root, and auditd signing checkpoints through secretsd, all under one directory.
struct Appliance {
  cordon::testing::TempDir dir{"cordon-enr"};
  std::filesystem::path root = dir / "root";
  std::unique_ptr<cordon::testing::AuditdProcess> auditd;
  std::unique_ptr<cordon::testing::SecretsdProcess> secretsd;

  Appliance() {
    write_text(dir / "bundle.toml", example_bundle());
    write_text(root / "etc/shadow", "root:!:19000:0:99999:7:::\n");
    write_accounts(root);
    REQUIRE(configure(configure_options(dir / "bundle.toml", root)));
    cordon::testing::AuditdProcessOptions audit_options;
    audit_options.directory = dir.path();
    audit_options.tenant = "acme";
    audit_options.checkpoint_key = "secretsd";
    audit_options.secretsd_socket = (dir / "secretsd.sock").string();
    cordon::testing::SecretsdProcessOptions secrets_options;
    secrets_options.directory = dir.path();
    secrets_options.tenant = "acme";
    secrets_options.audit_socket = (dir / "auditd.sock").string();
    auditd = std::make_unique<cordon::testing::AuditdProcess>(audit_options);
    secretsd = std::make_unique<cordon::testing::SecretsdProcess>(secrets_options);
    REQUIRE(auditd->start());
    REQUIRE(secretsd->start());
  }

  EnrollOptions options() const {
    EnrollOptions options;
    options.root = root;
    options.secretsd_socket = secretsd->socket_path();
    options.auditd_socket = auditd->socket_path();
    options.verifier_wait = std::chrono::seconds(20);
    return options;
  }

  // Every leaf of the log, one JSON text a line.
  std::string ledger() const {
    ipc::UnixClient client(auditd->socket_path());
    auto response = client.get("/v1/events");
    REQUIRE(response);
    REQUIRE(response->status == 200);
    return response->body;
  }
};

} // namespace

TEST_CASE("enroll stores the second factors and secrets, records tenant.provisioned and scrubs the record") {
  Appliance appliance;
  auto report = enroll(appliance.options());
  REQUIRE(report);
  INFO(report->console);
  CHECK_FALSE(report->already_enrolled);
  CHECK_THAT(report->console, Catch::StartsWith("Cordon is provisioned for tenant acme.\n"
                                                "  auditor URL:    https://cordon.acme.example:8443/\n"
                                                "  approvals URL:  https://cordon.acme.example/\n"
                                                "  agents' MCP:    https://cordon.acme.example:7443/mcp\n"
                                                "  verifier key:   acme.cordon.local/audit+"));
  CHECK_THAT(report->console, Catch::Contains("  KEK custody:    key_file\n  mode:           dry-run for 7 days\n"));

  ipc::UnixClient secrets(appliance.secretsd->socket_path());
  auto listed = secrets.get("/v1/secrets");
  REQUIRE(listed);
  REQUIRE(listed->status == 200);
  CHECK_THAT(listed->body, Catch::Contains("totp.alice") && Catch::Contains("totp.bob") && Catch::Contains("github-token"));
  CHECK_THAT(listed->body, Catch::Contains("approval.totp"));

  const std::string ledger = appliance.ledger();
  CHECK_THAT(ledger, !Catch::Contains("JBSWY3DP") && !Catch::Contains("example-not-a-real-token"));
  Json event;
  std::istringstream lines(ledger);
  for (std::string line; std::getline(lines, line);) {
    auto leaf = parse_json(line);
    REQUIRE(leaf);
    if ((*leaf)["kind"] == "tenant.provisioned") event = *leaf;
  }
  REQUIRE(event.is_object());
  const Json& data = event["data"];
  CHECK(data["tenant"] == "acme");
  CHECK(data["kek_custody"] == "key_file");
  CHECK(data["dry_run_days"] == 7);
  CHECK(data["approvers"] == Json::array({"alice", "bob"}));
  CHECK(data["databases"] == Json::array({"crm"}));
  CHECK(data["http_hosts"] == Json::array({"api.github.com"}));
  CHECK(data["sinks"] == Json::array({"postgres", "jsonl"}));
  REQUIRE(data["keys"].is_array());
  REQUIRE_FALSE(data["keys"].empty());
  for (const auto& key : data["keys"]) CHECK(key["public_key_sha256"].get<std::string>().size() == 64);
  CHECK(event["actor"] == Json({{"id", "provisioning"}, {"type", "system"}}));

  const std::string record = read_text(appliance.root / "etc/cordon/provisioning.toml");
  CHECK_THAT(record, !Catch::Contains("totp_secret") && !Catch::Contains("value_base64"));
  CHECK_THAT(record, Catch::Contains("name = \"alice\""));
  CHECK(mode_of(appliance.root / "etc/cordon/provisioning.toml") == 0600);
  CHECK_THAT(read_text(appliance.root / "var/lib/cordon/provisioned"), Catch::StartsWith("tenant = \"acme\"\n"));

  auto again = enroll(appliance.options());
  REQUIRE(again);
  CHECK(again->already_enrolled);
}

TEST_CASE("an interrupted enrollment can run again: secrets secretsd already holds count as stored") {
  Appliance appliance;
  const std::string record = read_text(appliance.root / "etc/cordon/provisioning.toml");
  REQUIRE(enroll(appliance.options()));
  // As if the first run had stopped after storing the secrets.
  std::filesystem::remove(appliance.root / "var/lib/cordon/provisioned");
  write_text(appliance.root / "etc/cordon/provisioning.toml", record);
  auto report = enroll(appliance.options());
  REQUIRE(report);
  CHECK_FALSE(report->already_enrolled);
}

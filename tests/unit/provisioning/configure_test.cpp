#include <catch2/catch.hpp>

#include <chrono>
#include <sstream>
#include <string>

#include <unistd.h>

#include "agentd/agentd_config.h"
#include "approvald/approvald_config.h"
#include "approvald/policy/constitution.h"
#include "common/encoding.h"
#include "auditd/auditd_config.h"
#include "provisioning/configure.h"
#include "provisioning/daemon_configs.h"
#include "provisioning/provisioning_record.h"
#include "provisioning/tls_material.h"
#include "provisioning/toml_text.h"
#include "secretsd/secretsd_config.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/provisioning/provisioning_fixtures.h"

using namespace cordon;
using namespace cordon::provisioning;
using namespace cordon::provisioning::testing;

namespace {

constexpr std::string_view shadow_text =
    "daemon:*:19000:0:99999:7:::\nroot:!*:19000:0:99999:7:::\nalice:$6$abc$def:19000:0:99999:7:::\n";

// A root with what configure expects to find on the appliance: an /etc/shadow to set root's
// password in (the example bundle gives one).
void prepare_root(const std::filesystem::path& root) {
  write_text(root / "etc/shadow", std::string(shadow_text));
  write_accounts(root);
}

struct Configured {
  cordon::testing::TempDir dir{"cordon-prov"};
  std::filesystem::path root = dir / "root";
  Result<ConfigureReport> report;

  explicit Configured(const std::string& bundle) {
    write_text(dir / "bundle.toml", bundle);
    prepare_root(root);
    report = configure(configure_options(dir / "bundle.toml", root));
  }
};

// The production rendering with each `user = "<name>"` line turned into the `uid = N` line the
// tests render: proof that what the tests load is what the appliance gets, but for the lookup.
std::string with_test_uids(std::string text) {
  for (const auto& [user, uid] : test_uids().peer_uids) {
    const std::string from = "user = \"" + user + "\"";
    for (auto at = text.find(from); at != std::string::npos; at = text.find(from))
      text.replace(at, from.size(), "uid = " + std::to_string(uid));
  }
  return text;
}

// The lines of a drop-in that are neither comments nor blank.
std::vector<std::string> settings_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty() && line[0] != '#') lines.push_back(line);
  return lines;
}

std::string replace_once(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

std::string replaced_host(std::string text) {
  const std::string from = "public_host = \"cordon.acme.example\"";
  return text.replace(text.find(from), from.size(), "public_host = \"approvals.acme.example\"");
}

} // namespace

TEST_CASE("configure writes four configurations that each daemon's own loader accepts") {
  Configured configured(example_bundle());
  REQUIRE(configured.report);
  const auto& root = configured.root;

  auto auditd = auditd::load_auditd_config(root / "etc/cordon/auditd.toml");
  REQUIRE(auditd);
  CHECK(auditd->tenant == "acme");
  CHECK(auditd->origin == "acme.cordon.local/audit");
  CHECK(auditd->checkpoint_key == auditd::AuditdConfig::CheckpointKey::secretsd);
  CHECK(auditd->socket == "/run/cordon/auditd.sock");
  REQUIRE(auditd->auditor);
  CHECK(auditd->auditor->listen.empty());
  CHECK(auditd->auditor->cert == "/run/credentials/cordon-auditd.service/tls.crt");
  CHECK(auditd->auditor->key == "/run/credentials/cordon-auditd.service/tls.key");
  CHECK(auditd->auditor->client_ca.empty());
  CHECK(auditd->auditor->bearer_token_sha256 ==
        std::vector<std::string>{"9f2f126aca8be7a280e6f5b1e61e8b49baf46c58547f2f17efa6e1ee99a1ac74"});
  REQUIRE(auditd->sinks.size() == 2);
  CHECK(auditd->sinks[0].type == auditd::SinkConfig::Type::postgres);
  CHECK(auditd->sinks[1].path == "/var/lib/cordon/auditd/export.jsonl");
  CHECK(auditd->peers.size() == 4);
  CHECK(auditd->peers.resolve(0, 0, 1).has_role("admin"));
  CHECK(auditd->peers.resolve(60002, 0, 1).has_role("secretsd"));
  CHECK(auditd->peers.resolve(60003, 0, 1).has_role("approvald"));
  CHECK(auditd->peers.resolve(60004, 0, 1).has_role("agentd"));
  CHECK(auditd->peers.resolve(60001, 0, 1).roles.empty());

  auto secretsd = secretsd::load_secretsd_config(root / "etc/cordon/secretsd.toml");
  REQUIRE(secretsd);
  CHECK(secretsd->kek.custody == secretsd::KekCustodyKind::tpm);
  CHECK(secretsd->kek.tcti == "device:/dev/tpmrm0");
  CHECK(secretsd->kek.pcrs == std::vector<unsigned>{7});
  CHECK(secretsd->checkpoint_origin == auditd->origin);
  CHECK(secretsd->peers.resolve(60001, 0, 1).has_role("auditd"));
  CHECK(secretsd->peers.resolve(60003, 0, 1).has_role("approvald"));
  CHECK(secretsd->peers.resolve(60004, 0, 1).has_role("agentd"));

  auto approvald = approvald::load_approvald_config(root / "etc/cordon/approvald.toml");
  REQUIRE(approvald);
  CHECK(approvald->constitution_dir == "/etc/cordon/constitution.d");
  CHECK(approvald->dry_run_period == std::chrono::hours(7 * 24));
  REQUIRE(approvald->approvers.size() == 2);
  CHECK(approvald->approvers[0].name == "alice");
  CHECK(approvald->approvers[0].groups == std::vector<std::string>{"approvers", "maintainers"});
  REQUIRE(approvald->webhooks.size() == 2);
  CHECK(approvald->webhooks[0].kind == approvald::WebhookKind::slack);
  CHECK(approvald->webhooks[1].secret_file == "/etc/cordon/webhook-2.secret");
  REQUIRE(approvald->web);
  CHECK(approvald->web->cert == "/run/credentials/cordon-approvald.service/tls.crt");
  CHECK(approvald->web->public_url == "https://cordon.acme.example");
  CHECK(approvald->peers.resolve(60004, 0, 1).has_role("agentd"));

  auto agentd = agentd::load_agentd_config(root / "etc/cordon/agentd.toml");
  REQUIRE(agentd);
  CHECK(agentd->markers_file == "/usr/share/cordon/injection-markers.toml");
  CHECK(agentd->workspace == "/var/lib/cordon/workspace");
  CHECK(agentd->approval_url.empty()); // no page answers an approval id
  REQUIRE(agentd->databases.size() == 1);
  CHECK(agentd->databases[0].max_rows == 500);
  REQUIRE(agentd->http_hosts.size() == 1);
  CHECK(agentd->http_hosts[0].credential == "github-token");
  CHECK(agentd->peers.resolve(60003, 0, 1).has_role("approvald"));
  REQUIRE(agentd->remote);
  CHECK(agentd->remote->listen.empty()); // the socket unit passes it
  CHECK(agentd->remote->cert == "/run/credentials/cordon-agentd.service/tls.crt");
  CHECK(agentd->remote->key == "/run/credentials/cordon-agentd.service/tls.key");
  CHECK(agentd->remote->client_ca.empty());
  CHECK(agentd->remote->bearer_token_sha256 ==
        std::vector<std::string>{"4a0b7efcc66677c05d97ed1c128f7dcdf1b172c4c377feb96f353849f3d79fd5"});

  auto constitution = approvald::load_constitution(root / "etc/cordon/constitution.d");
  REQUIRE(constitution);
  CHECK(constitution->files.size() == 4);
}

TEST_CASE("the appliance's configuration names peers by user and differs from the tested one only there") {
  Configured configured(example_bundle());
  REQUIRE(configured.report);
  auto bundle = check_bundle(example_bundle(), std::chrono::system_clock::now());
  REQUIRE(bundle);
  const auto production = render_daemon_configs(*bundle, RenderOptions{});
  CHECK_THAT(production.agentd, Catch::Contains("user = \"cordon-approve\"\nprincipal = \"approvald\"\nroles = [\"approvald\"]"));
  CHECK_THAT(production.auditd, Catch::Contains("uid = 0\nprincipal = \"root\"\nroles = [\"admin\"]"));
  CHECK_THAT(production.auditd, !Catch::Contains("uid = 6000"));
  CHECK(with_test_uids(production.auditd) == read_text(configured.root / "etc/cordon/auditd.toml"));
  CHECK(with_test_uids(production.secretsd) == read_text(configured.root / "etc/cordon/secretsd.toml"));
  CHECK(with_test_uids(production.approvald) == read_text(configured.root / "etc/cordon/approvald.toml"));
  CHECK(with_test_uids(production.agentd) == read_text(configured.root / "etc/cordon/agentd.toml"));
}

TEST_CASE("configure gives every file its mode") {
  Configured configured(example_bundle());
  REQUIRE(configured.report);
  const auto& root = configured.root;
  for (const char* name : {"auditd", "secretsd", "approvald", "agentd"})
    CHECK(mode_of(root / "etc/cordon" / (std::string(name) + ".toml")) == 0640);
  CHECK(mode_of(root / "etc/cordon/tls") == 0700);
  CHECK(mode_of(root / "etc/cordon/tls/server.key") == 0600);
  CHECK(mode_of(root / "etc/cordon/tls/server.crt") == 0644);
  CHECK(mode_of(root / "etc/cordon/tls/auditor-ca.crt") == 0644);
  CHECK(mode_of(root / "etc/cordon/webhook-2.secret") == 0600);
  CHECK_FALSE(std::filesystem::exists(root / "etc/cordon/webhook-1.secret")); // Slack: unsigned
  CHECK(read_text(root / "etc/cordon/webhook-2.secret") == "example-webhook-signing-key");
  CHECK(mode_of(root / "etc/cordon/provisioning.toml") == 0600);
  CHECK(mode_of(root / "etc/cordon/constitution.d/10-reads.toml") == 0640);
  CHECK(mode_of(root / "etc/systemd/system/cordon-agentd.service.d/50-egress.conf") == 0644);
  if (::geteuid() == 0) {
    // Owners come from the root's own etc/passwd and etc/group (write_accounts).
    CHECK(owner_of(root / "etc/cordon/auditd.toml") == std::pair<uid_t, gid_t>{0, 60001});
    CHECK(owner_of(root / "etc/cordon/agentd.toml") == std::pair<uid_t, gid_t>{0, 60004});
    CHECK(owner_of(root / "etc/cordon/webhook-2.secret") == std::pair<uid_t, gid_t>{60003, 60003});
    CHECK(owner_of(root / "etc/cordon/constitution.d/10-reads.toml") == std::pair<uid_t, gid_t>{0, 60003});
    CHECK(owner_of(root / "etc/cordon/tls/server.key") == std::pair<uid_t, gid_t>{0, 0});
  }
  auto bundle = check_bundle(example_bundle(), std::chrono::system_clock::now());
  REQUIRE(bundle);
  CHECK(read_text(root / "etc/cordon/bundle.sha256") == bundle->sha256 + "\n");
  CHECK(read_text(root / "etc/cordon/constitution.d/10-reads.toml") ==
        read_text(CORDON_SOURCE_DIR "/services/constitution.d/10-reads.toml"));
}

TEST_CASE("the drop-ins allow exactly the bundle's addresses and mirror the shipped ones") {
  Configured configured(example_bundle());
  REQUIRE(configured.report);
  const auto units = configured.root / "etc/systemd/system";
  CHECK(settings_of(read_text(units / "cordon-agentd.service.d/50-egress.conf")) ==
        std::vector<std::string>{"[Service]", "IPAddressAllow=10.0.5.20", "IPAddressAllow=140.82.112.0/20"});
  auto auditd = settings_of(read_text(units / "cordon-auditd.service.d/50-network.conf"));
  auto shipped = settings_of(read_text(CORDON_SOURCE_DIR "/services/systemd/network.d/cordon-auditd.conf"));
  shipped.push_back("IPAddressAllow=10.0.5.30");
  CHECK(auditd == shipped);
  auto approvald = settings_of(read_text(units / "cordon-approvald.service.d/50-network.conf"));
  shipped = settings_of(read_text(CORDON_SOURCE_DIR "/services/systemd/network.d/cordon-approvald.conf"));
  shipped.push_back("IPAddressAllow=203.0.113.10");
  shipped.push_back("IPAddressAllow=198.51.100.7");
  CHECK(approvald == shipped);
}

TEST_CASE("without a PostgreSQL sink or webhooks, auditd and approvald stay off the network") {
  Configured configured(minimal_bundle());
  REQUIRE(configured.report);
  const auto units = configured.root / "etc/systemd/system";
  CHECK_FALSE(std::filesystem::exists(units / "cordon-auditd.service.d/50-network.conf"));
  CHECK_FALSE(std::filesystem::exists(units / "cordon-approvald.service.d/50-network.conf"));
  CHECK(settings_of(read_text(units / "cordon-agentd.service.d/50-egress.conf")) == std::vector<std::string>{"[Service]"});
  // Without a password in the bundle, root stays as it was (locked).
  CHECK(read_text(configured.root / "etc/shadow") == shadow_text);
}

TEST_CASE("the console password changes root's hash and nothing else in the shadow file") {
  Configured configured(example_bundle());
  REQUIRE(configured.report);
  CHECK(read_text(configured.root / "etc/shadow") ==
        "daemon:*:19000:0:99999:7:::\n"
        "root:$6$cordonexample$ccoYXKSJ/XVSsuOJgJAwMs0fSU9yFskaXpAn/0HviFn20AamxH3JSdu.jpLu.v7J/LLvfISzVBUpXJwO7GO7N0:19000:0:99999:7:::\n"
        "alice:$6$abc$def:19000:0:99999:7:::\n");
}

TEST_CASE("a bundle that cannot be applied writes nothing") {
  cordon::testing::TempDir dir("cordon-prov");
  write_text(dir / "bundle.toml", example_bundle());
  std::filesystem::create_directory(dir / "root"); // no etc/shadow for the console password
  auto report = configure(configure_options(dir / "bundle.toml", dir / "root"));
  REQUIRE_FALSE(report);
  CHECK_THAT(report.error().message, Catch::Contains("etc/shadow"));
  CHECK(is_empty_directory(dir / "root"));
}

TEST_CASE("the self-signed certificate names the public host and the extra names and fits its key") {
  Configured configured(example_bundle());
  REQUIRE(configured.report);
  const std::string cert = read_text(configured.root / "etc/cordon/tls/server.crt");
  const std::string key = read_text(configured.root / "etc/cordon/tls/server.key");
  auto names = subject_alt_names(cert);
  REQUIRE(names);
  CHECK(*names == std::vector<std::string>{"DNS:cordon.acme.example", "IP:10.0.2.15"});
  CHECK(check_key_matches(cert, key));
  CHECK(check_server_certificate({cert, key}, {"cordon.acme.example", "10.0.2.15"}, std::chrono::system_clock::now()));
}

TEST_CASE("a webhook's own CA is written beside the configuration and named by approvald's") {
  auto ca = generate_self_signed_certificate({"hooks.acme.example"}, std::chrono::system_clock::now());
  REQUIRE(ca);
  Configured configured(minimal_bundle("", "\n[[webhooks]]\ntype = \"slack\"\nurl = \"https://hooks.acme.example/x\"\n"
                                           "address = \"192.0.2.1\"\nca = " + toml_string(ca->cert_pem) + "\n"));
  REQUIRE(configured.report);
  const auto& root = configured.root;
  CHECK(read_text(root / "etc/cordon/webhook-1.ca") == ca->cert_pem);
  CHECK(mode_of(root / "etc/cordon/webhook-1.ca") == 0644);
  auto approvald = approvald::load_approvald_config(root / "etc/cordon/approvald.toml");
  REQUIRE(approvald);
  REQUIRE(approvald->webhooks.size() == 1);
  CHECK(approvald->webhooks[0].ca_file == "/etc/cordon/webhook-1.ca");

  // Without it, the system's CAs; and the file of a webhook that no longer has one goes.
  write_text(configured.dir / "second.toml", minimal_bundle("", "\n[[webhooks]]\ntype = \"slack\"\nurl = \"https://hooks.acme.example/x\"\naddress = \"192.0.2.1\"\n"));
  REQUIRE(configure(configure_options(configured.dir / "second.toml", root)));
  CHECK_FALSE(std::filesystem::exists(root / "etc/cordon/webhook-1.ca"));
  approvald = approvald::load_approvald_config(root / "etc/cordon/approvald.toml");
  REQUIRE(approvald);
  CHECK(approvald->webhooks[0].ca_file == "/etc/ssl/certs/ca-certificates.crt");
}

TEST_CASE("an HTTP host's own CA is written beside the configuration and named by agentd's") {
  auto ca = generate_self_signed_certificate({"api.acme.internal"}, std::chrono::system_clock::now());
  REQUIRE(ca);
  const std::string host = "\n[[http_hosts]]\nhost = \"api.acme.internal\"\naddress = \"192.0.2.7\"\n";
  Configured configured(minimal_bundle("", host + "ca = " + toml_string(ca->cert_pem) + "\n"));
  REQUIRE(configured.report);
  const auto& root = configured.root;
  CHECK(read_text(root / "etc/cordon/http-host-1.ca") == ca->cert_pem);
  CHECK(mode_of(root / "etc/cordon/http-host-1.ca") == 0644);
  auto agentd = agentd::load_agentd_config(root / "etc/cordon/agentd.toml");
  REQUIRE(agentd);
  REQUIRE(agentd->http_hosts.size() == 1);
  CHECK(agentd->http_hosts[0].ca_file == "/etc/cordon/http-host-1.ca");

  // Without it, the system's CAs; and the file of a host that no longer has one goes.
  write_text(configured.dir / "second.toml", minimal_bundle("", host));
  REQUIRE(configure(configure_options(configured.dir / "second.toml", root)));
  CHECK_FALSE(std::filesystem::exists(root / "etc/cordon/http-host-1.ca"));
  agentd = agentd::load_agentd_config(root / "etc/cordon/agentd.toml");
  REQUIRE(agentd);
  CHECK(agentd->http_hosts[0].ca_file == "/etc/ssl/certs/ca-certificates.crt");
}

TEST_CASE("configuring again keeps the certificate, and drops what the new bundle no longer has") {
  Configured configured(example_bundle());
  REQUIRE(configured.report);
  const auto& root = configured.root;
  const std::string first = read_text(root / "etc/cordon/tls/server.crt");
  write_text(configured.dir / "second.toml", minimal_bundle("san = [\"10.0.2.15\"]\n"));
  auto again = configure(configure_options(configured.dir / "second.toml", root));
  REQUIRE(again);
  CHECK(read_text(root / "etc/cordon/tls/server.crt") == first);
  CHECK_FALSE(std::filesystem::exists(root / "etc/cordon/webhook-2.secret"));
  CHECK_FALSE(std::filesystem::exists(root / "etc/systemd/system/cordon-approvald.service.d/50-network.conf"));
  CHECK_FALSE(std::filesystem::exists(root / "etc/systemd/system/cordon-auditd.service.d/50-network.conf"));

  // A new public host needs a new certificate.
  write_text(configured.dir / "third.toml", replaced_host(minimal_bundle()));
  auto renamed = configure(configure_options(configured.dir / "third.toml", root));
  REQUIRE(renamed);
  const std::string third = read_text(root / "etc/cordon/tls/server.crt");
  CHECK(third != first);
  CHECK(check_certificate_names(third, {"approvals.acme.example"}));
}

TEST_CASE("a bundle's own certificate, auditor and agent CAs and constitution are written as given") {
  const auto now = std::chrono::system_clock::now();
  auto server = generate_self_signed_certificate({"cordon.acme.example"}, now);
  auto auditor_ca = generate_self_signed_certificate({"auditors.acme.example"}, now);
  REQUIRE(server);
  REQUIRE(auditor_ca);
  const std::string constitution = read_text(CORDON_SOURCE_DIR "/services/constitution.d/10-reads.toml");
  const std::string bundle = minimal_bundle(
      "", "\n[tls]\ncert = " + toml_string(server->cert_pem) + "\nkey = " + toml_string(server->key_pem) +
              "\n\n[[constitution]]\nfile = \"50-only-reads.toml\"\ntext = " + toml_string(constitution) + "\n");
  const std::string with_ca = replace_once(replace_once(bundle, "[auditors]\n", "[auditors]\nclient_ca = " + toml_string(auditor_ca->cert_pem) + "\n"),
                                           "[agents]\n", "[agents]\nclient_ca = " + toml_string(auditor_ca->cert_pem) + "\n");

  Configured configured(with_ca);
  REQUIRE(configured.report);
  const auto& root = configured.root;
  CHECK(read_text(root / "etc/cordon/tls/server.crt") == server->cert_pem);
  CHECK(read_text(root / "etc/cordon/tls/server.key") == server->key_pem);
  CHECK(read_text(root / "etc/cordon/tls/auditor-ca.crt") == auditor_ca->cert_pem);
  auto auditd = auditd::load_auditd_config(root / "etc/cordon/auditd.toml");
  REQUIRE(auditd);
  CHECK(auditd->auditor->client_ca == "/run/credentials/cordon-auditd.service/auditor-ca.crt");
  CHECK(read_text(root / "etc/cordon/tls/agent-ca.crt") == auditor_ca->cert_pem);
  auto agentd = agentd::load_agentd_config(root / "etc/cordon/agentd.toml");
  REQUIRE(agentd);
  CHECK(agentd->remote->client_ca == "/run/credentials/cordon-agentd.service/agent-ca.crt");
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(root / "etc/cordon/constitution.d"))
    files.push_back(entry.path().filename().string());
  CHECK(files == std::vector<std::string>{"50-only-reads.toml"});
  CHECK(read_text(root / "etc/cordon/constitution.d/50-only-reads.toml") == constitution);
}

TEST_CASE("development key_file custody renders a configuration secretsd accepts") {
  Configured configured(minimal_bundle("", "\n[kek]\ncustody = \"key_file\"\nallow_development = true\n"));
  REQUIRE(configured.report);
  auto secretsd = secretsd::load_secretsd_config(configured.root / "etc/cordon/secretsd.toml");
  REQUIRE(secretsd);
  CHECK(secretsd->kek.custody == secretsd::KekCustodyKind::key_file);
  CHECK(secretsd->kek.key_file == "/var/lib/cordon/secretsd/kek.key");
}

TEST_CASE("provisioning.toml holds what enrollment needs, the TOTP seeds and secret values included") {
  Configured configured(example_bundle());
  REQUIRE(configured.report);
  auto record = parse_record(read_text(configured.root / "etc/cordon/provisioning.toml"), "provisioning.toml");
  REQUIRE(record);
  CHECK(record->tenant == "acme");
  REQUIRE(record->approvers.size() == 2);
  CHECK(record->approvers[1].totp_secret == "KRUGS4ZANFZSAYJAORSXG5BAONSWG4TF");
  REQUIRE(record->secrets.size() == 1);
  CHECK(record->secrets[0].value_base64 == to_base64(as_bytes("example-not-a-real-token")));
  CHECK(record->audit_sinks == std::vector<std::string>{"postgres", "jsonl"});
  const auto scrubbed = render_record(record->without_secrets());
  CHECK_THAT(scrubbed, !Catch::Contains("totp_secret") && !Catch::Contains("value_base64"));
}

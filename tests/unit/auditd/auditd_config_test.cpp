// auditd's configuration: what a valid /etc/cordon/cordon.toml yields, and every value it refuses.
#include <catch2/catch.hpp>

#include <string>

#include "auditd/auditd_config.h"
#include "common/config.h"

using namespace cordon;
using namespace cordon::auditd;

namespace {

// A minimal valid file; tests append to its [auditd] table or replace pieces of it.
const std::string root_part = R"(
tenant = "acme"

[[peers]]
uid = 998
principal = "agentd"
roles = ["agentd"]
)";

Result<AuditdConfig> parse_text(const std::string& text) {
  auto file = ConfigFile::parse(text, "/etc/cordon/cordon.toml");
  if (!file) return tl::unexpected<Error>(file.error());
  return parse_auditd_config(*file);
}

// The root part, then "[auditd]" followed by `auditd_lines`, then `more` (further tables).
Result<AuditdConfig> parse_auditd(const std::string& auditd_lines, const std::string& more = "") {
  return parse_text(root_part + "\n[auditd]\n" + auditd_lines + "\n" + more);
}

AuditdConfig parsed(const std::string& auditd_lines, const std::string& more = "") {
  auto config = parse_auditd(auditd_lines, more);
  INFO((config ? std::string() : config.error().message));
  REQUIRE(config);
  return *config;
}

// Asserts a refusal with this code whose message names `mentioned`.
void require_refused(const Result<AuditdConfig>& config, Errc code, const std::string& mentioned) {
  REQUIRE_FALSE(config);
  INFO(config.error().message);
  CHECK(config.error().code == code);
  CHECK(config.error().message.find(mentioned) != std::string::npos);
}

const std::string auditor_table = R"(
[auditd.auditor]
listen = "127.0.0.1:8443"
address_file = "/run/cordon/auditd-https.addr"
cert = "/etc/cordon/tls/auditd.crt"
key = "/etc/cordon/tls/auditd.key"
client_ca = "/etc/cordon/tls/auditors-ca.crt"
bearer_token_sha256 = ["9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"]
)";

} // namespace

TEST_CASE("a full auditd config is read into every field") {
  const auto config = parsed(R"(
socket = "/run/cordon/auditd.sock"
socket_mode = "0600"
state_dir = "/var/lib/cordon/auditd"
origin = "acme.example/audit"
checkpoint_interval_ms = 2500
segment_bytes = 1048576
)",
                             auditor_table + R"(
[[auditd.sinks]]
type = "postgres"
dsn = "host=/run/postgresql dbname=audit"

[[auditd.sinks]]
type = "jsonl"
path = "/var/lib/cordon/audit-copy.jsonl"
)");
  CHECK(config.tenant == "acme");
  CHECK(config.peers.size() == 1);
  CHECK(config.peers.resolve(998, 998, 1).principal == "agentd");
  CHECK(config.socket == "/run/cordon/auditd.sock");
  CHECK(config.socket_mode == 0600);
  CHECK(config.state_dir == "/var/lib/cordon/auditd");
  CHECK(config.origin == "acme.example/audit");
  CHECK(config.checkpoint_interval == std::chrono::milliseconds(2500));
  CHECK(config.segment_bytes == 1048576);
  REQUIRE(config.auditor);
  CHECK(config.auditor->listen == "127.0.0.1:8443");
  CHECK(config.auditor->address_file == "/run/cordon/auditd-https.addr");
  CHECK(config.auditor->cert == "/etc/cordon/tls/auditd.crt");
  CHECK(config.auditor->key == "/etc/cordon/tls/auditd.key");
  CHECK(config.auditor->client_ca == "/etc/cordon/tls/auditors-ca.crt");
  CHECK(config.auditor->bearer_token_sha256 ==
        std::vector<std::string>{"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"});
  REQUIRE(config.sinks.size() == 2);
  CHECK(config.sinks[0].type == SinkConfig::Type::postgres);
  CHECK(config.sinks[0].dsn == "host=/run/postgresql dbname=audit");
  CHECK(config.sinks[1].type == SinkConfig::Type::jsonl);
  CHECK(config.sinks[1].path == "/var/lib/cordon/audit-copy.jsonl");
}

TEST_CASE("an empty [auditd] table takes the production defaults") {
  const auto config = parsed("");
  CHECK(config.socket == "/run/cordon/auditd.sock");
  CHECK(config.socket_mode == 0660);
  CHECK(config.state_dir == "/var/lib/cordon/auditd");
  CHECK(config.origin == "acme.cordon.local/audit");
  CHECK(config.checkpoint_interval == std::chrono::milliseconds(10'000));
  CHECK(config.segment_bytes == std::uint64_t{64} << 20);
  CHECK_FALSE(config.auditor);
  CHECK(config.sinks.empty());
}

TEST_CASE("a config without [[peers]] has an empty role map, so every route refuses") {
  const auto config = parse_text("tenant = \"acme\"\n[auditd]\n");
  REQUIRE(config);
  CHECK(config->peers.size() == 0);
  CHECK(config->peers.resolve(998, 998, 1).roles.empty());
}

TEST_CASE("a missing tenant or a missing [auditd] table is refused") {
  require_refused(parse_text("[auditd]\n"), Errc::not_found, "tenant");
  require_refused(parse_text("tenant = \"acme\"\n"), Errc::not_found, "auditd");
  require_refused(parse_text("tenant = 7\n[auditd]\n"), Errc::invalid_argument, "tenant");
}

TEST_CASE("a tenant must be 1 to 64 of lowercase letters, digits and '-'") {
  CHECK(parse_text("tenant = \"a\"\n[auditd]\n"));
  CHECK(parse_text("tenant = \"acme-eu-2\"\n[auditd]\n"));
  CHECK(parse_text("tenant = \"" + std::string(64, 'a') + "\"\n[auditd]\n"));
  const std::vector<std::string> bad_tenants = {"", "Acme", "acme_eu", "acme.eu", "acme eu", "acme/eu",
                                                "acme\\u00e9", std::string(65, 'a')};
  for (const auto& tenant : bad_tenants) {
    INFO(tenant);
    require_refused(parse_text("tenant = \"" + tenant + "\"\n[auditd]\n"), Errc::invalid_argument, "tenant");
  }
}

TEST_CASE("socket_mode is an octal string of at most 0777") {
  CHECK(parsed("socket_mode = \"0660\"").socket_mode == 0660);
  CHECK(parsed("socket_mode = \"660\"").socket_mode == 0660);
  CHECK(parsed("socket_mode = \"0777\"").socket_mode == 0777);
  // "40000000660" is 2^32 + 0660 and "-37777777001" wraps to 0777 in 32 bits: neither may pass.
  const std::vector<std::string> bad_modes = {"", "0800", "0999", "abc", "0x1b0", "1000", "01000", "0660 ",
                                              " 0660", "+660", "-0", "-1", "6.6", "00660", "40000000660",
                                              "-37777777001"};
  for (const auto& mode : bad_modes) {
    INFO(mode);
    require_refused(parse_auditd("socket_mode = \"" + mode + "\""), Errc::invalid_argument, "socket_mode");
  }
  // An integer, even TOML's 0o660, is not the documented string form.
  require_refused(parse_auditd("socket_mode = 0o660"), Errc::invalid_argument, "socket_mode");
}

TEST_CASE("checkpoint_interval_ms is 100 to 10000, so a checkpoint follows events within 10 s") {
  CHECK(parsed("checkpoint_interval_ms = 100").checkpoint_interval == std::chrono::milliseconds(100));
  CHECK(parsed("checkpoint_interval_ms = 10000").checkpoint_interval == std::chrono::milliseconds(10'000));
  for (const std::string value : {"99", "0", "-1", "10001", "86400000"}) {
    INFO(value);
    require_refused(parse_auditd("checkpoint_interval_ms = " + value), Errc::invalid_argument,
                    "checkpoint_interval_ms");
  }
  require_refused(parse_auditd("checkpoint_interval_ms = \"1000\""), Errc::invalid_argument,
                  "checkpoint_interval_ms");
  require_refused(parse_auditd("checkpoint_interval_ms = 1000.0"), Errc::invalid_argument,
                  "checkpoint_interval_ms");
}

TEST_CASE("segment_bytes is 64 KiB to 1 TiB") {
  CHECK(parsed("segment_bytes = 65536").segment_bytes == 65536);
  CHECK(parsed("segment_bytes = 1099511627776").segment_bytes == std::uint64_t{1} << 40);
  require_refused(parse_auditd("segment_bytes = 65535"), Errc::invalid_argument, "segment_bytes");
  require_refused(parse_auditd("segment_bytes = 1099511627777"), Errc::invalid_argument, "segment_bytes");
  require_refused(parse_auditd("segment_bytes = -1"), Errc::invalid_argument, "segment_bytes");
}

TEST_CASE("origin defaults from the tenant and must hold no space or '+'") {
  CHECK(parsed("origin = \"audit.acme.example\"").origin == "audit.acme.example");
  for (const std::string origin : {"", "acme audit", "acme+audit", "acme\\taudit", "acme\\naudit"}) {
    INFO(origin);
    require_refused(parse_auditd("origin = \"" + origin + "\""), Errc::invalid_argument, "origin");
  }
}

TEST_CASE("unknown keys in [auditd] are refused and named, not ignored") {
  require_refused(parse_auditd("checkpoint_interval = 1000"), Errc::unknown_field, "checkpoint_interval");
  require_refused(parse_auditd("Socket = \"/tmp/a.sock\""), Errc::unknown_field, "Socket");
  require_refused(parse_auditd("", "[auditd.extra]\nx = 1\n"), Errc::unknown_field, "extra");
}

TEST_CASE("the auditor listener needs a certificate, its key and a way to authenticate auditors") {
  const std::string cert_and_key = "[auditd.auditor]\ncert = \"/c.pem\"\nkey = \"/k.pem\"\n";
  const auto with_ca = parsed("", cert_and_key + "client_ca = \"/ca.pem\"\n");
  REQUIRE(with_ca.auditor);
  CHECK(with_ca.auditor->listen.empty()); // socket-activated in production
  CHECK(with_ca.auditor->bearer_token_sha256.empty());
  const auto with_token = parsed("", cert_and_key + "bearer_token_sha256 = [\"" + std::string(64, 'a') + "\"]\n");
  REQUIRE(with_token.auditor);
  CHECK(with_token.auditor->client_ca.empty());

  require_refused(parse_auditd("", cert_and_key), Errc::invalid_argument, "client_ca or bearer_token_sha256");
  require_refused(parse_auditd("", cert_and_key + "bearer_token_sha256 = []\n"), Errc::invalid_argument,
                  "client_ca or bearer_token_sha256");
  require_refused(parse_auditd("", "[auditd.auditor]\nkey = \"/k.pem\"\nclient_ca = \"/ca.pem\"\n"),
                  Errc::not_found, "cert");
  require_refused(parse_auditd("", "[auditd.auditor]\ncert = \"/c.pem\"\nclient_ca = \"/ca.pem\"\n"),
                  Errc::not_found, "key");
  require_refused(parse_auditd("", cert_and_key + "client_ca = \"/ca.pem\"\ntoken = \"secret\"\n"),
                  Errc::unknown_field, "token");
}

TEST_CASE("bearer token digests must be 64 lowercase hex digits") {
  const std::string cert_and_key = "[auditd.auditor]\ncert = \"/c.pem\"\nkey = \"/k.pem\"\n";
  const std::vector<std::string> bad_digests = {std::string(63, 'a'), std::string(65, 'a'), std::string(64, 'A'),
                                                std::string(63, 'a') + "g", "", "sha256:" + std::string(57, 'a')};
  for (const auto& digest : bad_digests) {
    INFO(digest);
    require_refused(parse_auditd("", cert_and_key + "bearer_token_sha256 = [\"" + digest + "\"]\n"),
                    Errc::invalid_argument, "bearer_token_sha256");
  }
  require_refused(parse_auditd("", cert_and_key + "bearer_token_sha256 = \"" + std::string(64, 'a') + "\"\n"),
                  Errc::invalid_argument, "bearer_token_sha256");
}

TEST_CASE("a sink needs a known type and its own destination, and nothing else") {
  require_refused(parse_auditd("", "[[auditd.sinks]]\ntype = \"s3\"\npath = \"/x\"\n"), Errc::invalid_argument,
                  "s3");
  require_refused(parse_auditd("", "[[auditd.sinks]]\ntype = \"JSONL\"\npath = \"/x\"\n"),
                  Errc::invalid_argument, "JSONL");
  require_refused(parse_auditd("", "[[auditd.sinks]]\npath = \"/x\"\n"), Errc::not_found, "type");
  require_refused(parse_auditd("", "[[auditd.sinks]]\ntype = \"postgres\"\n"), Errc::not_found, "dsn");
  require_refused(parse_auditd("", "[[auditd.sinks]]\ntype = \"jsonl\"\n"), Errc::not_found, "path");
  require_refused(parse_auditd("", "[[auditd.sinks]]\ntype = \"postgres\"\ndsn = \"\"\n"),
                  Errc::invalid_argument, "dsn");
  require_refused(parse_auditd("", "[[auditd.sinks]]\ntype = \"jsonl\"\npath = \"\"\n"),
                  Errc::invalid_argument, "path");
  // A destination that belongs to the other type is a mistake, not something to ignore.
  require_refused(parse_auditd("", "[[auditd.sinks]]\ntype = \"postgres\"\ndsn = \"dbname=a\"\npath = \"/x\"\n"),
                  Errc::unknown_field, "path");
  require_refused(parse_auditd("", "[[auditd.sinks]]\ntype = \"jsonl\"\npath = \"/x\"\ndsn = \"dbname=a\"\n"),
                  Errc::unknown_field, "dsn");
  require_refused(parse_auditd("", "[[auditd.sinks]]\ntype = \"jsonl\"\npath = \"/x\"\nfsync = true\n"),
                  Errc::unknown_field, "fsync");
  // sinks is an array of tables, not a single table.
  require_refused(parse_auditd("", "[auditd.sinks]\ntype = \"jsonl\"\npath = \"/x\"\n"), Errc::invalid_argument,
                  "sinks");
}

TEST_CASE("a bad [[peers]] entry refuses the whole config") {
  require_refused(parse_text("tenant = \"acme\"\n[[peers]]\nuid = 998\nroles = [\"agentd\"]\n[auditd]\n"),
                  Errc::not_found, "principal");
  require_refused(parse_text("tenant = \"acme\"\n[[peers]]\nuid = 998\nprincipal = \"a\"\nroles = [\"agentd\"]\n"
                             "[[peers]]\nuid = 998\nprincipal = \"b\"\nroles = [\"admin\"]\n[auditd]\n"),
                  Errc::invalid_argument, "998");
}

TEST_CASE("load_auditd_config reports a missing file as not_found") {
  auto config = load_auditd_config("/nonexistent/cordon/cordon.toml");
  REQUIRE_FALSE(config);
  CHECK(config.error().code == Errc::not_found);
}

TEST_CASE("the checkpoint key is held in a file by default, or by secretsd when configured") {
  CHECK(parsed("").checkpoint_key == AuditdConfig::CheckpointKey::file);
  const auto config = parsed("checkpoint_key = \"secretsd\"\nsecretsd_socket = \"/run/test/secretsd.sock\"");
  CHECK(config.checkpoint_key == AuditdConfig::CheckpointKey::secretsd);
  CHECK(config.secretsd_socket == "/run/test/secretsd.sock");
  auto wrong = parse_auditd("checkpoint_key = \"hsm\"");
  REQUIRE_FALSE(wrong);
  CHECK(wrong.error().message.find("checkpoint_key") != std::string::npos);
}

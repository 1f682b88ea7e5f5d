#include <catch2/catch.hpp>

#include "agentd/agentd_config.h"

using namespace cordon;
using namespace cordon::agentd;

namespace {

Result<AgentdConfig> parse(const std::string& agentd_table) {
  const std::string text = "tenant = \"acme\"\n[[peers]]\nuid = 0\nprincipal = \"root\"\nroles = [\"admin\"]\n[agentd]\n" + agentd_table;
  auto file = ConfigFile::parse(text, "test.toml");
  if (!file) return tl::unexpected(file.error());
  return parse_agentd_config(*file);
}

void require_refused(const std::string& table, const std::string& says) {
  auto config = parse(table);
  INFO(table);
  REQUIRE_FALSE(config);
  CHECK(config.error().code == Errc::invalid_argument);
  CHECK_THAT(config.error().message, Catch::Contains(says));
}

} // namespace

TEST_CASE("agentd's defaults are the appliance's paths") {
  auto config = parse("");
  REQUIRE(config);
  CHECK(config->socket == "/run/cordon/agentd.sock");
  CHECK(config->workspace == "/var/lib/cordon/workspace");
  CHECK(config->reinstate_window == std::chrono::seconds(300));
  CHECK(config->max_result_bytes == 256u << 10);
  CHECK(config->databases.empty());
  CHECK(config->http_hosts.empty());
}

TEST_CASE("databases and hosts are read strictly") {
  auto config = parse(R"(
approval_url = "https://approvals.example/a/"
reinstate_window_s = 60
[[agentd.databases]]
name = "crm"
dsn = "host=/run/postgresql dbname=crm"
statement_timeout_ms = 2000
max_rows = 50
[[agentd.http_hosts]]
host = "api.example.com"
credential = "example-token"
)");
  REQUIRE(config);
  CHECK(config->approval_url == "https://approvals.example/a");
  CHECK(config->reinstate_window == std::chrono::seconds(60));
  REQUIRE(config->databases.size() == 1);
  CHECK(config->databases[0].statement_timeout == std::chrono::milliseconds(2000));
  CHECK(config->databases[0].max_rows == 50);
  REQUIRE(config->http_hosts.size() == 1);
  CHECK(config->http_hosts[0].port == 443);
  CHECK(config->http_hosts[0].ca_file == "/etc/ssl/certs/ca-certificates.crt");
  CHECK(config->http_hosts[0].credential_header == "Authorization");
}

TEST_CASE("bad agentd settings are refused naming the key") {
  require_refused("socket_mode = \"0999\"", "agentd.socket_mode");
  require_refused("reinstate_window_s = 0", "reinstate_window_s");
  require_refused("max_result_bytes = 10", "max_result_bytes");
  require_refused("[[agentd.databases]]\nname = \"Bad Name\"\ndsn = \"x\"", "agentd.databases[0].name");
  require_refused("[[agentd.databases]]\nname = \"a\"\ndsn = \"x\"\n[[agentd.databases]]\nname = \"a\"\ndsn = \"y\"", "twice");
  require_refused("[[agentd.http_hosts]]\nhost = \"API.example.com\"", "host");
  require_refused("[[agentd.http_hosts]]\nhost = \"a.example\"\ncredential_header = \"Bad Header\"", "credential_header");
  require_refused("[[agentd.http_hosts]]\nhost = \"a.example\"\n[[agentd.http_hosts]]\nhost = \"a.example\"", "twice");
  auto unknown = parse("colour = \"blue\"");
  REQUIRE_FALSE(unknown);
  CHECK_THAT(unknown.error().message, Catch::Contains("colour"));
}

TEST_CASE("the remote agent listener is optional and needs a certificate and a way to authenticate agents") {
  auto none = parse("");
  REQUIRE(none);
  CHECK_FALSE(none->remote);

  const std::string cert_and_key = "[agentd.remote]\ncert = \"/c.pem\"\nkey = \"/k.pem\"\n";
  auto with_token = parse(cert_and_key + "bearer_token_sha256 = [\"" + std::string(64, 'a') + "\"]\n");
  REQUIRE(with_token);
  REQUIRE(with_token->remote);
  CHECK(with_token->remote->listen.empty()); // socket-activated on the appliance
  CHECK(with_token->remote->cert == "/c.pem");
  CHECK(with_token->remote->bearer_token_sha256 == std::vector<std::string>{std::string(64, 'a')});
  auto with_ca = parse(cert_and_key + "client_ca = \"/ca.pem\"\nlisten = \"127.0.0.1:7443\"\n");
  REQUIRE(with_ca);
  CHECK(with_ca->remote->client_ca == "/ca.pem");
  CHECK(with_ca->remote->listen == "127.0.0.1:7443");

  require_refused(cert_and_key, "agentd.remote needs client_ca or bearer_token_sha256");
  require_refused(cert_and_key + "bearer_token_sha256 = [\"" + std::string(64, 'A') + "\"]\n",
                  "agentd.remote.bearer_token_sha256");
  auto no_key = parse("[agentd.remote]\ncert = \"/c.pem\"\nclient_ca = \"/ca.pem\"\n");
  REQUIRE_FALSE(no_key);
  CHECK(no_key.error().code == Errc::not_found);
  auto unknown = parse(cert_and_key + "client_ca = \"/ca.pem\"\ntoken = \"secret\"\n");
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().code == Errc::unknown_field);
}

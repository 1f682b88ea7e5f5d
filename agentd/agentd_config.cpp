#include "agentd/agentd_config.h"

#include "common/ipc/http.h"

namespace cordon::agentd {
namespace {

bool valid_name(const std::string& name) {
  return !name.empty() && name.size() <= 64 &&
         name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789._-") == std::string::npos;
}

bool valid_host(const std::string& host) {
  return !host.empty() && host.size() <= 253 &&
         host.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789.-:[]") == std::string::npos;
}

Result<std::vector<DatabaseConfig>> parse_databases(const ConfigFile& table) {
  std::vector<DatabaseConfig> databases;
  for (const auto& entry : CORDON_TRY(table.optional_table_list("databases")).value_or(std::vector<ConfigFile>{})) {
    CORDON_TRY_VOID(entry.require_known_keys({"name", "dsn", "statement_timeout_ms", "max_rows"}));
    DatabaseConfig database;
    database.name = CORDON_TRY(entry.string("name"));
    if (!valid_name(database.name))
      return fail(Errc::invalid_argument, entry.source() + ": " + entry.full_key("name") + " must be 1..64 of [a-z0-9._-]");
    database.dsn = CORDON_TRY(entry.string("dsn"));
    database.statement_timeout = std::chrono::milliseconds(
        CORDON_TRY(entry.optional_integer("statement_timeout_ms", 1, 600'000)).value_or(database.statement_timeout.count()));
    database.max_rows = CORDON_TRY(entry.optional_integer("max_rows", 1, 10'000)).value_or(database.max_rows);
    for (const auto& known : databases)
      if (known.name == database.name)
        return fail(Errc::invalid_argument, entry.source() + ": database " + database.name + " is listed twice");
    databases.push_back(std::move(database));
  }
  return databases;
}

Result<std::vector<HttpHostConfig>> parse_http_hosts(const ConfigFile& table) {
  std::vector<HttpHostConfig> hosts;
  for (const auto& entry : CORDON_TRY(table.optional_table_list("http_hosts")).value_or(std::vector<ConfigFile>{})) {
    CORDON_TRY_VOID(entry.require_known_keys(
        {"host", "port", "ca_file", "credential", "credential_header", "credential_prefix"}));
    HttpHostConfig host;
    host.host = CORDON_TRY(entry.string("host"));
    if (!valid_host(host.host))
      return fail(Errc::invalid_argument, entry.source() + ": " + entry.full_key("host") + " must be a lowercase host name or address");
    host.port = static_cast<std::uint16_t>(CORDON_TRY(entry.optional_integer("port", 1, 65535)).value_or(443));
    host.ca_file = CORDON_TRY(entry.optional_string("ca_file")).value_or(host.ca_file);
    host.credential = CORDON_TRY(entry.optional_string("credential")).value_or("");
    host.credential_header = CORDON_TRY(entry.optional_string("credential_header")).value_or(host.credential_header);
    host.credential_prefix = CORDON_TRY(entry.optional_string("credential_prefix")).value_or(host.credential_prefix);
    if (!ipc::is_valid_header_name(host.credential_header) || !ipc::is_valid_header_value(host.credential_prefix))
      return fail(Errc::invalid_argument, entry.source() + ": " + entry.full_key("credential_header") + " must be a header name");
    for (const auto& known : hosts)
      if (known.host == host.host && known.port == host.port)
        return fail(Errc::invalid_argument, entry.source() + ": host " + host.host + " is listed twice");
    hosts.push_back(std::move(host));
  }
  return hosts;
}

} // namespace

Result<AgentdConfig> parse_agentd_config(const ConfigFile& file) {
  AgentdConfig config;
  config.tenant = CORDON_TRY(tenant_of(file));
  config.peers = CORDON_TRY(ipc::PeerMap::from_config(file, "peers"));
  auto table = CORDON_TRY(file.table("agentd"));
  CORDON_TRY_VOID(table.require_known_keys({"socket", "socket_mode", "state_dir", "workspace", "audit_socket",
                                            "approvald_socket", "secretsd_socket", "markers_file", "approval_url",
                                            "reinstate_window_s", "max_result_bytes", "databases", "http_hosts", "remote"}));
  config.socket = CORDON_TRY(table.optional_string("socket")).value_or(config.socket);
  config.socket_mode = CORDON_TRY(optional_socket_mode(table)).value_or(config.socket_mode);
  config.state_dir = CORDON_TRY(table.optional_string("state_dir")).value_or(config.state_dir);
  config.workspace = CORDON_TRY(table.optional_string("workspace")).value_or(config.workspace);
  config.audit_socket = CORDON_TRY(table.optional_string("audit_socket")).value_or(config.audit_socket);
  config.approvald_socket = CORDON_TRY(table.optional_string("approvald_socket")).value_or(config.approvald_socket);
  config.secretsd_socket = CORDON_TRY(table.optional_string("secretsd_socket")).value_or(config.secretsd_socket);
  config.markers_file = CORDON_TRY(table.optional_string("markers_file")).value_or(config.markers_file);
  config.approval_url = CORDON_TRY(table.optional_string("approval_url")).value_or("");
  while (config.approval_url.ends_with("/")) config.approval_url.pop_back();
  config.reinstate_window = std::chrono::seconds(
      CORDON_TRY(table.optional_integer("reinstate_window_s", 1, 7 * 24 * 3600)).value_or(config.reinstate_window.count()));
  config.max_result_bytes = static_cast<std::size_t>(
      CORDON_TRY(table.optional_integer("max_result_bytes", 1024, 4 << 20)).value_or(static_cast<std::int64_t>(config.max_result_bytes)));
  config.databases = CORDON_TRY(parse_databases(table));
  config.http_hosts = CORDON_TRY(parse_http_hosts(table));
  if (auto remote = CORDON_TRY(table.optional_table("remote")))
    config.remote = CORDON_TRY(ipc::parse_credential_listener(*remote));
  return config;
}

Result<AgentdConfig> load_agentd_config(const std::string& path) {
  auto file = CORDON_TRY(ConfigFile::load(path));
  return parse_agentd_config(file);
}

} // namespace cordon::agentd

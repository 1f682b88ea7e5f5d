#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/error.h"
#include "common/ipc/credential_listener.h"
#include "common/ipc/peer.h"

namespace cordon::agentd {

// [[agentd.databases]]: a PostgreSQL database sql.query may read.
struct DatabaseConfig {
  std::string name; // what the agent names in `database`
  std::string dsn;  // libpq connection string; a password belongs in a secretsd lease, not here
  std::chrono::milliseconds statement_timeout{5000}; // 1 ms .. 10 min
  std::int64_t max_rows = 1000;                      // 1 .. 10,000
};

// [[agentd.http_hosts]]: a host http.request may reach.
struct HttpHostConfig {
  std::string host;           // exact, lowercase DNS name or IP literal
  std::uint16_t port = 443;
  // The CA bundle (PEM) the host's certificate must chain to; Debian's system bundle by default.
  // Only HTTPS (TLS 1.3) is spoken.
  std::string ca_file = "/etc/ssl/certs/ca-certificates.crt";
  std::string credential;     // a secret leased from secretsd and injected, or "" for none
  std::string credential_header = "Authorization";
  std::string credential_prefix = "Bearer ";
};

// Everything cordon-agentd reads from /etc/cordon/cordon.toml: the root `tenant`, the
// `[[peers]]` role map and the `[agentd]` table. Unknown keys are refused.
struct AgentdConfig {
  std::string tenant;
  ipc::PeerMap peers;
  std::string socket = "/run/cordon/agentd.sock"; // when not socket-activated
  std::uint32_t socket_mode = 0660;
  std::string state_dir = "/var/lib/cordon/agentd";
  std::string workspace = "/var/lib/cordon/workspace"; // fs.* tools act inside it, only
  std::string audit_socket = "/run/cordon/auditd.sock";
  std::string approvald_socket = "/run/cordon/approvald.sock";
  std::string secretsd_socket = "/run/cordon/secretsd.sock";
  std::string markers_file = "/usr/share/cordon/injection-markers.toml";
  // Where an approval can be looked at, given to the agent with a held call's approval id
  // ("<approval_url>/<id>"); "" gives the id alone.
  std::string approval_url;
  std::chrono::seconds reinstate_window{300}; // two-phase operations' soft phase, 1 s .. 7 days
  std::size_t max_result_bytes = 256 << 10;    // a tool result the agent sees, 1 KiB .. 4 MiB
  std::vector<DatabaseConfig> databases;
  std::vector<HttpHostConfig> http_hosts;
  // [agentd.remote]: MCP over HTTPS for agents on other hosts, authenticated by bearer token or
  // client certificate. They get the role "agent" and so reach /mcp and /v1/status only.
  std::optional<ipc::CredentialListenerConfig> remote;
};

Result<AgentdConfig> load_agentd_config(const std::string& path);
Result<AgentdConfig> parse_agentd_config(const ConfigFile& file);

} // namespace cordon::agentd

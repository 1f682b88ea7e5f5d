#pragma once

#include <array>
#include <string>
#include <string_view>

// Where provisioning reads and writes. Paths without a leading '/' are relative to the root
// `configure` and `enroll` work under ("/" on the appliance, a temporary directory in tests);
// absolute ones are what the daemons see at run time and are written into their configuration.
namespace cordon::provisioning::paths {

inline constexpr std::string_view etc_cordon = "etc/cordon";
inline constexpr std::string_view tls_dir = "etc/cordon/tls";
inline constexpr std::string_view server_cert = "etc/cordon/tls/server.crt";
inline constexpr std::string_view server_key = "etc/cordon/tls/server.key";
inline constexpr std::string_view auditor_ca = "etc/cordon/tls/auditor-ca.crt";
inline constexpr std::string_view agent_ca = "etc/cordon/tls/agent-ca.crt";
inline constexpr std::string_view constitution_dir = "etc/cordon/constitution.d";
inline constexpr std::string_view shipped_constitution_dir = "usr/share/cordon/constitution.d";
inline constexpr std::string_view provisioning_record = "etc/cordon/provisioning.toml";
inline constexpr std::string_view bundle_sha256 = "etc/cordon/bundle.sha256";
inline constexpr std::string_view provisioned_marker = "var/lib/cordon/provisioned";
inline constexpr std::string_view shadow = "etc/shadow";
inline constexpr std::string_view passwd = "etc/passwd";
inline constexpr std::string_view group = "etc/group";
inline constexpr std::string_view systemd_system = "etc/systemd/system";

inline constexpr std::string_view constitution_dir_at_run_time = "/etc/cordon/constitution.d";
inline constexpr std::string_view markers_file_at_run_time = "/usr/share/cordon/injection-markers.toml";
inline constexpr std::string_view workspace_at_run_time = "/var/lib/cordon/workspace";

// Where the bundle may come from when --bundle is not given (docs/provisioning.md).
inline constexpr std::string_view system_credential = "/run/credentials/@system/cordon.bundle";
inline constexpr std::string_view config_drive = "/dev/disk/by-label/CORDON-CFG";
inline constexpr std::string_view config_drive_bundle = "bundle.toml";

// One of the four daemons: its name, its system user (and group, of the same name) and unit.
struct Daemon {
  std::string_view name; // "auditd"
  std::string_view user; // "cordon-audit"
  std::string unit() const { return "cordon-" + std::string(name) + ".service"; }
  std::string config() const { return "etc/cordon/" + std::string(name) + ".toml"; }
  // The directory systemd puts the unit's LoadCredential= files in.
  std::string credentials() const { return "/run/credentials/" + unit(); }
};

inline constexpr Daemon auditd{"auditd", "cordon-audit"};
inline constexpr Daemon secretsd{"secretsd", "cordon-secrets"};
inline constexpr Daemon approvald{"approvald", "cordon-approve"};
inline constexpr Daemon agentd{"agentd", "cordon-agent"};
inline constexpr std::array<Daemon, 4> daemons{auditd, secretsd, approvald, agentd};

} // namespace cordon::provisioning::paths

#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "common/config.h"
#include "common/error.h"
#include "common/ipc/peer.h"

namespace cordon::approvald {

// Everything cordon-approvald reads from /etc/cordon/cordon.toml: the root `tenant`, the
// `[[peers]]` role map and the `[approvald]` table. Unknown keys are refused.
struct ApprovaldConfig {
  std::string tenant;
  ipc::PeerMap peers;
  std::string socket = "/run/cordon/approvald.sock"; // when not socket-activated
  std::uint32_t socket_mode = 0660;
  std::string state_dir = "/var/lib/cordon/approvald";
  std::string audit_socket = "/run/cordon/auditd.sock";
  std::string secretsd_socket = "/run/cordon/secretsd.sock";
  std::string constitution_dir = "/etc/cordon/constitution.d";
  std::chrono::seconds decision_ttl{120}; // a packet's life, 10..600 s
  std::chrono::hours dry_run_period{7 * 24}; // from provisioning; 0 days: live at once
};

Result<ApprovaldConfig> load_approvald_config(const std::string& path);
Result<ApprovaldConfig> parse_approvald_config(const ConfigFile& file);

} // namespace cordon::approvald

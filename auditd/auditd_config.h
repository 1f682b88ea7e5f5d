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

namespace cordon::auditd {

// The auditor HTTPS listener ([auditd.auditor]). Socket-activated in production (the fd named
// "auditor"); `listen` is used only when no such fd was passed.
struct SinkConfig {
  enum class Type { postgres, jsonl };
  Type type = Type::jsonl;
  std::string dsn;  // postgres
  std::string path; // jsonl
};

// Everything cordon-auditd reads from /etc/cordon/cordon.toml: the root `tenant`, the
// `[[peers]]` role map and the `[auditd]` table. Unknown keys are refused.
struct AuditdConfig {
  std::string tenant;
  ipc::PeerMap peers;
  std::string socket = "/run/cordon/auditd.sock"; // when not socket-activated
  std::uint32_t socket_mode = 0660;
  std::string state_dir = "/var/lib/cordon/auditd";
  std::string origin; // checkpoint origin and key name; "<tenant>.cordon.local/audit" by default
  // Who holds the checkpoint key: "file" (a 0600 file in state_dir, checkpoint.key) or
  // "secretsd" (its oracle; an existing key file is moved into secretsd once, then shredded).
  enum class CheckpointKey { file, secretsd };
  CheckpointKey checkpoint_key = CheckpointKey::file;
  std::string secretsd_socket = "/run/cordon/secretsd.sock";
  std::chrono::milliseconds checkpoint_interval{10'000};
  std::uint64_t segment_bytes = std::uint64_t{64} << 20;
  std::optional<ipc::CredentialListenerConfig> auditor; // [auditd.auditor]
  std::vector<SinkConfig> sinks;
};

Result<AuditdConfig> load_auditd_config(const std::string& path);
Result<AuditdConfig> parse_auditd_config(const ConfigFile& file);

} // namespace cordon::auditd

#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/error.h"
#include "common/ipc/peer.h"
#include "secretsd/kek/kek_custody.h"

namespace cordon::secretsd {

// [secretsd.kek]: how the KEK is kept (DESIGN.md §8).
struct KekConfig {
  KekCustodyKind custody = KekCustodyKind::tpm;
  // tpm
  std::string tcti = "device:/dev/tpmrm0";
  std::uint32_t parent_handle = 0x81000C0D;
  std::vector<unsigned> pcrs; // SHA-256 PCRs the KEK is sealed to; empty: no PCR policy
  // credential
  std::string credential = "kek";
  std::string credential_source; // the encrypted credential file, destroyed by shred
  // key_file (development only)
  std::string key_file; // default: <state_dir>/kek.key
};

// Everything cordon-secretsd reads from /etc/cordon/cordon.toml: the root `tenant`, the
// `[[peers]]` role map and the `[secretsd]` table. Unknown keys are refused.
struct SecretsdConfig {
  std::string tenant;
  ipc::PeerMap peers;
  std::string socket = "/run/cordon/secretsd.sock"; // when not socket-activated
  std::uint32_t socket_mode = 0660;
  std::string state_dir = "/var/lib/cordon/secretsd";
  std::string audit_socket = "/run/cordon/auditd.sock";
  std::chrono::seconds lease_ttl{60}; // 1..60
  std::string checkpoint_origin;      // "<tenant>.cordon.local/audit" by default
  KekConfig kek;
};

Result<SecretsdConfig> load_secretsd_config(const std::string& path);
Result<SecretsdConfig> parse_secretsd_config(const ConfigFile& file);

} // namespace cordon::secretsd

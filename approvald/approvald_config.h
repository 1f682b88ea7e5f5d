#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/error.h"
#include "common/ipc/peer.h"

namespace cordon::approvald {

// [[approvald.approvers]]: the humans who may approve (DESIGN.md §5.4). Their second factor, a
// TOTP secret, is held by secretsd as the secret totp.<name> (scope approval.totp).
struct ApproverConfig {
  std::string name; // [a-z0-9._-], 1..64
  std::string email;
  std::vector<std::string> groups;
};

// [[approvald.webhooks]]: where pending approvals are announced. HTTPS only.
enum class WebhookKind { slack, generic };
struct WebhookConfig {
  WebhookKind kind = WebhookKind::generic;
  std::string url;     // https://host[:port]/path
  std::string ca_file = "/etc/ssl/certs/ca-certificates.crt"; // the CA the receiver's certificate chains to
  std::string secret_file; // generic: the HMAC-SHA256 key for X-Cordon-Signature-256 (0600)
};

// [approvald.sla]: a waiting approval is nudged, nudged again with its deadline, then closed.
struct SlaConfig {
  std::chrono::seconds nudge{24 * 3600};
  std::chrono::seconds second_nudge{72 * 3600};
  std::chrono::seconds close{7 * 24 * 3600};
};

// [approvald.web]: the approvers' HTTPS listener (socket-activated as "approvald-https" under
// systemd; bound here otherwise).
struct WebConfig {
  std::string listen = "127.0.0.1:8443";
  std::string address_file; // where the bound address is written (port 0 picks one)
  std::string cert;
  std::string key;
  std::string public_url; // what links start with; default https://<bound address>
};

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
  std::vector<ApproverConfig> approvers;
  std::vector<WebhookConfig> webhooks;
  SlaConfig sla;
  std::optional<WebConfig> web; // no listener, no links, when absent
};

Result<ApprovaldConfig> load_approvald_config(const std::string& path);
Result<ApprovaldConfig> parse_approvald_config(const ConfigFile& file);

} // namespace cordon::approvald

#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "provisioning/bundle.h"

// The four daemons' configuration files, rendered from a checked bundle. Each holds the root
// `tenant`, the `[[peers]]` role map of the callers that daemon serves (root as admin, and the
// other daemons with the roles their routes grant) and that daemon's own table only. Defaults
// the daemons already have (sockets, state directories) are not repeated.
namespace cordon::provisioning {

struct RenderOptions {
  // Empty on the appliance: peers are written as `user = "cordon-agent"`, looked up by the
  // daemon when it reads its configuration, where sysusers.d has created those users. Tests on
  // a build host, where the users do not exist, give each user a uid here and get `uid = N`
  // instead; nothing else in the rendering changes.
  std::map<std::string, std::uint32_t, std::less<>> peer_uids;
};

struct DaemonConfigs {
  std::string auditd;
  std::string secretsd;
  std::string approvald;
  std::string agentd;
};

DaemonConfigs render_daemon_configs(const Bundle& bundle, const RenderOptions& options);

// The file approvald reads generic webhook number `index` (from 0)'s HMAC key from.
std::string webhook_secret_path(std::size_t index);
// Where the webhook's own CA (the bundle's `ca`) is written: "/etc/cordon/webhook-<index + 1>.ca".
std::string webhook_ca_path(std::size_t index);
// Where an HTTP host's own CA (the bundle's `ca`) is written: "/etc/cordon/http-host-<index + 1>.ca".
std::string http_host_ca_path(std::size_t index);

} // namespace cordon::provisioning

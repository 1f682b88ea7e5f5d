#include "provisioning/unit_dropins.h"

#include <algorithm>

#include "provisioning/paths.h"

namespace cordon::provisioning {
namespace {

std::string dropin_path(const paths::Daemon& daemon, std::string_view file) {
  return std::string(paths::systemd_system) + "/" + daemon.unit() + ".d/" + std::string(file);
}

void add_unique(std::vector<std::string>& addresses, const std::string& address) {
  if (std::find(addresses.begin(), addresses.end(), address) == addresses.end()) addresses.push_back(address);
}

std::string allow_lines(const std::vector<std::string>& addresses) {
  std::string out;
  for (const auto& address : addresses) out += "IPAddressAllow=" + address + "\n";
  return out;
}

// services/systemd/network.d/cordon-<daemon>.conf, with the addresses appended.
std::string network_dropin(std::string_view why, const std::vector<std::string>& addresses) {
  return "# Written by cordon-provision: " + std::string(why) +
         "\n# Everything else stays denied. Provisioning rewrites this file.\n"
         "[Service]\nPrivateNetwork=no\nRestrictAddressFamilies=AF_UNIX AF_INET AF_INET6\nIPAddressDeny=any\n" +
         allow_lines(addresses);
}

} // namespace

DropIn agentd_egress_dropin(const Bundle& bundle) {
  std::vector<std::string> addresses;
  for (const auto& database : bundle.databases) add_unique(addresses, database.address);
  for (const auto& host : bundle.http_hosts) add_unique(addresses, host.address);
  std::string content =
      "# Written by cordon-provision: the addresses of the databases and HTTP hosts agentd may reach.\n"
      "# The unit denies every other address (IPAddressDeny=any). Provisioning rewrites this file.\n"
      "[Service]\n" +
      allow_lines(addresses);
  return DropIn{dropin_path(paths::agentd, "50-egress.conf"), std::move(content)};
}

std::string auditd_network_dropin_path() { return dropin_path(paths::auditd, "50-network.conf"); }

std::string approvald_network_dropin_path() { return dropin_path(paths::approvald, "50-network.conf"); }

std::optional<DropIn> auditd_network_dropin(const Bundle& bundle) {
  std::vector<std::string> addresses;
  for (const auto& sink : bundle.audit_sinks)
    if (sink.type == SinkType::postgres) add_unique(addresses, sink.address);
  if (addresses.empty()) return std::nullopt;
  return DropIn{auditd_network_dropin_path(), network_dropin("auditd reaches its PostgreSQL sinks.", addresses)};
}

std::optional<DropIn> approvald_network_dropin(const Bundle& bundle) {
  std::vector<std::string> addresses;
  for (const auto& webhook : bundle.webhooks) add_unique(addresses, webhook.address);
  if (addresses.empty()) return std::nullopt;
  return DropIn{approvald_network_dropin_path(), network_dropin("approvald reaches its webhooks.", addresses)};
}

} // namespace cordon::provisioning

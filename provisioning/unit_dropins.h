#pragma once

#include <optional>
#include <string>
#include <vector>

#include "provisioning/bundle.h"

// systemd drop-ins that open exactly the network a bundle needs (docs/operator-guide.md,
// "Networks"). Allow-lists hold the bundle's numeric addresses; every other address stays denied.
namespace cordon::provisioning {

struct DropIn {
  std::string path; // relative to the root: "etc/systemd/system/cordon-agentd.service.d/50-egress.conf"
  std::string content;
};

// agentd's egress allow-list: one IPAddressAllow= per database and HTTP host address. Always
// written (with no line when there is nothing to reach), so re-provisioning drops old addresses.
DropIn agentd_egress_dropin(const Bundle& bundle);

// auditd's network, when a PostgreSQL sink needs one, and approvald's, when webhooks do: the
// shipped services/systemd/network.d/ drop-in plus one IPAddressAllow= per address. nullopt when
// the daemon needs no network; provisioning then removes any earlier one.
std::optional<DropIn> auditd_network_dropin(const Bundle& bundle);
std::optional<DropIn> approvald_network_dropin(const Bundle& bundle);

// The paths of the optional drop-ins above, for removal when they are not wanted.
std::string auditd_network_dropin_path();
std::string approvald_network_dropin_path();

} // namespace cordon::provisioning

#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "provisioning/bundle.h"

// /etc/cordon/provisioning.toml (0600 root): what `configure` leaves for `enroll`, which runs
// once the daemons are up. It holds the approvers' TOTP seeds and the bundle's secrets until
// enroll has put them into secretsd, then only the names.
namespace cordon::provisioning {

struct ProvisioningRecord {
  struct ApproverEntry {
    std::string name;
    std::optional<std::string> totp_secret; // base32; removed once enrolled
  };
  struct SecretEntry {
    std::string name;
    std::vector<std::string> tools;
    std::optional<std::string> value_base64; // removed once enrolled
  };

  std::string tenant;
  std::string public_host;
  std::string bundle_sha256;
  std::string kek_custody;
  std::int64_t dry_run_days = 7;
  std::vector<ApproverEntry> approvers;
  std::vector<SecretEntry> secrets;
  std::vector<std::string> databases;  // names
  std::vector<std::string> http_hosts; // host names
  std::vector<std::string> audit_sinks; // types

  // The same record without any TOTP seed or secret value.
  ProvisioningRecord without_secrets() const;
};

ProvisioningRecord record_of(const Bundle& bundle);
std::string render_record(const ProvisioningRecord& record);
// Strict, like every configuration file: unknown keys are refused. `source` names the file.
Result<ProvisioningRecord> parse_record(std::string_view text, const std::string& source);

} // namespace cordon::provisioning

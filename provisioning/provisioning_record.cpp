#include "provisioning/provisioning_record.h"

#include <fmt/format.h>

#include "common/config.h"
#include "common/encoding.h"
#include "provisioning/toml_text.h"

namespace cordon::provisioning {

ProvisioningRecord ProvisioningRecord::without_secrets() const {
  ProvisioningRecord copy = *this;
  for (auto& approver : copy.approvers) approver.totp_secret.reset();
  for (auto& secret : copy.secrets) secret.value_base64.reset();
  return copy;
}

ProvisioningRecord record_of(const Bundle& bundle) {
  ProvisioningRecord record;
  record.tenant = bundle.tenant;
  record.public_host = bundle.public_host;
  record.bundle_sha256 = bundle.sha256;
  record.kek_custody = std::string(kek_custody_name(bundle.kek.custody));
  record.dry_run_days = bundle.dry_run_days;
  for (const auto& approver : bundle.approvers) record.approvers.push_back({approver.name, approver.totp_secret});
  for (const auto& secret : bundle.secrets)
    record.secrets.push_back({secret.name, secret.tools, to_base64(as_bytes(secret.value))});
  for (const auto& database : bundle.databases) record.databases.push_back(database.name);
  for (const auto& host : bundle.http_hosts) record.http_hosts.push_back(host.host);
  for (const auto& sink : bundle.audit_sinks) record.audit_sinks.push_back(std::string(sink_type_name(sink.type)));
  return record;
}

std::string render_record(const ProvisioningRecord& record) {
  std::string out = fmt::format(
      "# Written by cordon-provision configure for cordon-provision enroll (docs/provisioning.md).\n"
      "# Until enrollment it holds the approvers' TOTP seeds and the bundle's secret values; enroll\n"
      "# stores them in secretsd and rewrites this file without them.\n"
      "tenant = {}\npublic_host = {}\nbundle_sha256 = {}\nkek_custody = {}\ndry_run_days = {}\n"
      "databases = {}\nhttp_hosts = {}\naudit_sinks = {}\n",
      toml_string(record.tenant), toml_string(record.public_host), toml_string(record.bundle_sha256),
      toml_string(record.kek_custody), record.dry_run_days, toml_string_array(record.databases),
      toml_string_array(record.http_hosts), toml_string_array(record.audit_sinks));
  for (const auto& approver : record.approvers) {
    out += "\n[[approvers]]\nname = " + toml_string(approver.name) + "\n";
    if (approver.totp_secret) out += "totp_secret = " + toml_string(*approver.totp_secret) + "\n";
  }
  for (const auto& secret : record.secrets) {
    out += "\n[[secrets]]\nname = " + toml_string(secret.name) + "\ntools = " + toml_string_array(secret.tools) + "\n";
    if (secret.value_base64) out += "value_base64 = " + toml_string(*secret.value_base64) + "\n";
  }
  return out;
}

Result<ProvisioningRecord> parse_record(std::string_view text, const std::string& source) {
  const auto root = CORDON_TRY(ConfigFile::parse(text, source));
  CORDON_TRY_VOID(root.require_known_keys({"tenant", "public_host", "bundle_sha256", "kek_custody", "dry_run_days",
                                           "databases", "http_hosts", "audit_sinks", "approvers", "secrets"}));
  ProvisioningRecord record;
  record.tenant = CORDON_TRY(root.string("tenant"));
  record.public_host = CORDON_TRY(root.string("public_host"));
  record.bundle_sha256 = CORDON_TRY(root.string("bundle_sha256"));
  record.kek_custody = CORDON_TRY(root.string("kek_custody"));
  record.dry_run_days = CORDON_TRY(root.integer("dry_run_days", 0, 90));
  record.databases = CORDON_TRY(root.optional_string_list("databases")).value_or(std::vector<std::string>{});
  record.http_hosts = CORDON_TRY(root.optional_string_list("http_hosts")).value_or(std::vector<std::string>{});
  record.audit_sinks = CORDON_TRY(root.optional_string_list("audit_sinks")).value_or(std::vector<std::string>{});
  for (const auto& entry : CORDON_TRY(root.optional_table_list("approvers")).value_or(std::vector<ConfigFile>{})) {
    CORDON_TRY_VOID(entry.require_known_keys({"name", "totp_secret"}));
    record.approvers.push_back({CORDON_TRY(entry.string("name")), CORDON_TRY(entry.optional_string("totp_secret"))});
  }
  for (const auto& entry : CORDON_TRY(root.optional_table_list("secrets")).value_or(std::vector<ConfigFile>{})) {
    CORDON_TRY_VOID(entry.require_known_keys({"name", "tools", "value_base64"}));
    record.secrets.push_back({CORDON_TRY(entry.string("name")), CORDON_TRY(entry.string_list("tools")),
                              CORDON_TRY(entry.optional_string("value_base64"))});
  }
  return record;
}

} // namespace cordon::provisioning

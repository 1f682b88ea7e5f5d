#include "approvald/approvald_config.h"

namespace cordon::approvald {

Result<ApprovaldConfig> parse_approvald_config(const ConfigFile& file) {
  ApprovaldConfig config;
  config.tenant = CORDON_TRY(tenant_of(file));
  config.peers = CORDON_TRY(ipc::PeerMap::from_config(file, "peers"));
  auto table = CORDON_TRY(file.table("approvald"));
  CORDON_TRY_VOID(table.require_known_keys({"socket", "socket_mode", "state_dir", "audit_socket", "secretsd_socket",
                                            "constitution_dir", "decision_ttl_s", "dry_run_days"}));
  config.socket = CORDON_TRY(table.optional_string("socket")).value_or(config.socket);
  if (auto mode = CORDON_TRY(table.optional_string("socket_mode"))) {
    auto parsed = parse_octal_mode(*mode);
    if (!parsed) return fail(Errc::invalid_argument, file.source() + ": approvald.socket_mode must be an octal string such as \"0660\"");
    config.socket_mode = *parsed;
  }
  config.state_dir = CORDON_TRY(table.optional_string("state_dir")).value_or(config.state_dir);
  config.audit_socket = CORDON_TRY(table.optional_string("audit_socket")).value_or(config.audit_socket);
  config.secretsd_socket = CORDON_TRY(table.optional_string("secretsd_socket")).value_or(config.secretsd_socket);
  config.constitution_dir = CORDON_TRY(table.optional_string("constitution_dir")).value_or(config.constitution_dir);
  config.decision_ttl = std::chrono::seconds(CORDON_TRY(table.optional_integer("decision_ttl_s", 10, 600)).value_or(120));
  config.dry_run_period = std::chrono::hours(24 * CORDON_TRY(table.optional_integer("dry_run_days", 0, 90)).value_or(7));
  return config;
}

Result<ApprovaldConfig> load_approvald_config(const std::string& path) {
  auto file = CORDON_TRY(ConfigFile::load(path));
  return parse_approvald_config(file);
}

} // namespace cordon::approvald

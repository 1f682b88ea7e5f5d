#include "secretsd/secretsd_config.h"

namespace cordon::secretsd {

namespace {

Result<KekConfig> parse_kek(const ConfigFile& table, const std::string& state_dir) {
  CORDON_TRY_VOID(table.require_known_keys(
      {"custody", "tcti", "parent_handle", "pcrs", "credential", "credential_source", "key_file"}));
  KekConfig kek;
  const auto custody = CORDON_TRY(table.string("custody"));
  if (custody == "tpm") {
    kek.custody = KekCustodyKind::tpm;
  } else if (custody == "credential") {
    kek.custody = KekCustodyKind::credential;
  } else if (custody == "key_file") {
    kek.custody = KekCustodyKind::key_file;
  } else {
    return fail(Errc::invalid_argument, table.source() + ": secretsd.kek.custody must be tpm, credential or key_file");
  }
  kek.tcti = CORDON_TRY(table.optional_string("tcti")).value_or(kek.tcti);
  kek.parent_handle = static_cast<std::uint32_t>(
      CORDON_TRY(table.optional_integer("parent_handle", 0x81000000, 0x817FFFFF)).value_or(kek.parent_handle));
  for (const auto& pcr : CORDON_TRY(table.optional_string_list("pcrs")).value_or(std::vector<std::string>{})) {
    if (pcr.empty() || pcr.size() > 2 || pcr.find_first_not_of("0123456789") != std::string::npos || std::stoi(pcr) > 23)
      return fail(Errc::invalid_argument, table.source() + ": secretsd.kek.pcrs holds PCR indexes 0..23, as strings");
    kek.pcrs.push_back(static_cast<unsigned>(std::stoi(pcr)));
  }
  kek.credential = CORDON_TRY(table.optional_string("credential")).value_or(kek.credential);
  kek.credential_source = CORDON_TRY(table.optional_string("credential_source")).value_or("");
  kek.key_file = CORDON_TRY(table.optional_string("key_file")).value_or(state_dir + "/kek.key");
  return kek;
}

} // namespace

Result<SecretsdConfig> parse_secretsd_config(const ConfigFile& file) {
  SecretsdConfig config;
  config.tenant = CORDON_TRY(tenant_of(file));
  config.peers = CORDON_TRY(ipc::PeerMap::from_config(file, "peers"));
  auto table = CORDON_TRY(file.table("secretsd"));
  CORDON_TRY_VOID(table.require_known_keys(
      {"socket", "socket_mode", "state_dir", "audit_socket", "lease_ttl_s", "checkpoint_origin", "kek"}));
  config.socket = CORDON_TRY(table.optional_string("socket")).value_or(config.socket);
  config.socket_mode = CORDON_TRY(optional_socket_mode(table)).value_or(config.socket_mode);
  config.state_dir = CORDON_TRY(table.optional_string("state_dir")).value_or(config.state_dir);
  config.audit_socket = CORDON_TRY(table.optional_string("audit_socket")).value_or(config.audit_socket);
  config.lease_ttl = std::chrono::seconds(CORDON_TRY(table.optional_integer("lease_ttl_s", 1, 60)).value_or(60));
  config.checkpoint_origin = CORDON_TRY(table.optional_string("checkpoint_origin")).value_or(config.tenant + ".cordon.local/audit");
  auto kek = CORDON_TRY(table.table("kek"));
  config.kek = CORDON_TRY(parse_kek(kek, config.state_dir));
  return config;
}

Result<SecretsdConfig> load_secretsd_config(const std::string& path) {
  auto file = CORDON_TRY(ConfigFile::load(path));
  return parse_secretsd_config(file);
}

} // namespace cordon::secretsd

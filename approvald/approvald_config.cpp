#include "approvald/approvald_config.h"

namespace cordon::approvald {
namespace {

bool valid_name(const std::string& name) {
  return !name.empty() && name.size() <= 64 &&
         name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789._-") == std::string::npos;
}

Result<std::vector<ApproverConfig>> parse_approvers(const ConfigFile& table) {
  std::vector<ApproverConfig> approvers;
  for (const auto& entry : CORDON_TRY(table.optional_table_list("approvers")).value_or(std::vector<ConfigFile>{})) {
    CORDON_TRY_VOID(entry.require_known_keys({"name", "email", "groups"}));
    ApproverConfig approver;
    approver.name = CORDON_TRY(entry.string("name"));
    if (!valid_name(approver.name))
      return fail(Errc::invalid_argument, entry.source() + ": approvald.approvers.name must be 1..64 of [a-z0-9._-]");
    approver.email = CORDON_TRY(entry.optional_string("email")).value_or("");
    approver.groups = CORDON_TRY(entry.optional_string_list("groups")).value_or(std::vector<std::string>{});
    for (const auto& known : approvers)
      if (known.name == approver.name) return fail(Errc::invalid_argument, entry.source() + ": approver " + approver.name + " is listed twice");
    approvers.push_back(std::move(approver));
  }
  return approvers;
}

Result<std::vector<WebhookConfig>> parse_webhooks(const ConfigFile& table) {
  std::vector<WebhookConfig> webhooks;
  for (const auto& entry : CORDON_TRY(table.optional_table_list("webhooks")).value_or(std::vector<ConfigFile>{})) {
    CORDON_TRY_VOID(entry.require_known_keys({"type", "url", "ca_file", "secret_file"}));
    WebhookConfig webhook;
    const auto type = CORDON_TRY(entry.string("type"));
    if (type == "slack") webhook.kind = WebhookKind::slack;
    else if (type == "generic") webhook.kind = WebhookKind::generic;
    else return fail(Errc::invalid_argument, entry.source() + ": approvald.webhooks.type must be slack or generic");
    webhook.url = CORDON_TRY(entry.string("url"));
    if (!webhook.url.starts_with("https://"))
      return fail(Errc::invalid_argument, entry.source() + ": approvald.webhooks.url must be https://");
    webhook.ca_file = CORDON_TRY(entry.optional_string("ca_file")).value_or(webhook.ca_file);
    webhook.secret_file = CORDON_TRY(entry.optional_string("secret_file")).value_or("");
    if (webhook.kind == WebhookKind::generic && webhook.secret_file.empty())
      return fail(Errc::invalid_argument, entry.source() + ": a generic webhook needs secret_file (its HMAC key)");
    webhooks.push_back(std::move(webhook));
  }
  return webhooks;
}

Result<SlaConfig> parse_sla(const ConfigFile& table) {
  SlaConfig sla;
  auto found = CORDON_TRY(table.optional_table("sla"));
  if (!found) return sla;
  CORDON_TRY_VOID(found->require_known_keys({"nudge_after_s", "second_nudge_after_s", "close_after_s"}));
  constexpr std::int64_t year = 366 * 24 * 3600;
  sla.nudge = std::chrono::seconds(CORDON_TRY(found->optional_integer("nudge_after_s", 1, year)).value_or(sla.nudge.count()));
  sla.second_nudge = std::chrono::seconds(CORDON_TRY(found->optional_integer("second_nudge_after_s", 1, year)).value_or(sla.second_nudge.count()));
  sla.close = std::chrono::seconds(CORDON_TRY(found->optional_integer("close_after_s", 1, year)).value_or(sla.close.count()));
  if (!(sla.nudge < sla.second_nudge && sla.second_nudge < sla.close))
    return fail(Errc::invalid_argument, table.source() + ": approvald.sla needs nudge_after_s < second_nudge_after_s < close_after_s");
  return sla;
}

Result<std::optional<WebConfig>> parse_web(const ConfigFile& table) {
  auto found = CORDON_TRY(table.optional_table("web"));
  if (!found) return std::optional<WebConfig>();
  CORDON_TRY_VOID(found->require_known_keys({"listen", "address_file", "cert", "key", "public_url"}));
  WebConfig web;
  web.listen = CORDON_TRY(found->optional_string("listen")).value_or(web.listen);
  web.address_file = CORDON_TRY(found->optional_string("address_file")).value_or("");
  web.cert = CORDON_TRY(found->string("cert"));
  web.key = CORDON_TRY(found->string("key"));
  web.public_url = CORDON_TRY(found->optional_string("public_url")).value_or("");
  if (!web.public_url.empty() && !web.public_url.starts_with("https://"))
    return fail(Errc::invalid_argument, table.source() + ": approvald.web.public_url must be https://");
  while (web.public_url.ends_with("/")) web.public_url.pop_back();
  return std::optional<WebConfig>(std::move(web));
}

} // namespace

Result<ApprovaldConfig> parse_approvald_config(const ConfigFile& file) {
  ApprovaldConfig config;
  config.tenant = CORDON_TRY(tenant_of(file));
  config.peers = CORDON_TRY(ipc::PeerMap::from_config(file, "peers"));
  auto table = CORDON_TRY(file.table("approvald"));
  CORDON_TRY_VOID(table.require_known_keys({"socket", "socket_mode", "state_dir", "audit_socket", "secretsd_socket",
                                            "constitution_dir", "decision_ttl_s", "dry_run_days", "approvers", "webhooks",
                                            "sla", "web"}));
  config.socket = CORDON_TRY(table.optional_string("socket")).value_or(config.socket);
  config.socket_mode = CORDON_TRY(optional_socket_mode(table)).value_or(config.socket_mode);
  config.state_dir = CORDON_TRY(table.optional_string("state_dir")).value_or(config.state_dir);
  config.audit_socket = CORDON_TRY(table.optional_string("audit_socket")).value_or(config.audit_socket);
  config.secretsd_socket = CORDON_TRY(table.optional_string("secretsd_socket")).value_or(config.secretsd_socket);
  config.constitution_dir = CORDON_TRY(table.optional_string("constitution_dir")).value_or(config.constitution_dir);
  config.decision_ttl = std::chrono::seconds(CORDON_TRY(table.optional_integer("decision_ttl_s", 10, 600)).value_or(120));
  config.dry_run_period = std::chrono::hours(24 * CORDON_TRY(table.optional_integer("dry_run_days", 0, 90)).value_or(7));
  config.approvers = CORDON_TRY(parse_approvers(table));
  config.webhooks = CORDON_TRY(parse_webhooks(table));
  config.sla = CORDON_TRY(parse_sla(table));
  config.web = CORDON_TRY(parse_web(table));
  return config;
}

Result<ApprovaldConfig> load_approvald_config(const std::string& path) {
  auto file = CORDON_TRY(ConfigFile::load(path));
  return parse_approvald_config(file);
}

} // namespace cordon::approvald

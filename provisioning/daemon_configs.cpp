#include "provisioning/daemon_configs.h"

#include <span>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "provisioning/network_address.h"
#include "provisioning/paths.h"
#include "provisioning/toml_text.h"

namespace cordon::provisioning {
namespace {

// A caller of a daemon: the system user it runs as and the role its routes grant it.
struct PeerGrant {
  std::string_view user;
  std::string_view role;
};

// From each daemon's router: who calls it, with which role. Root (the admin role) calls all four.
constexpr PeerGrant auditd_callers[] = {{"cordon-secrets", "secretsd"}, {"cordon-approve", "approvald"}, {"cordon-agent", "agentd"}};
constexpr PeerGrant secretsd_callers[] = {{"cordon-audit", "auditd"}, {"cordon-approve", "approvald"}, {"cordon-agent", "agentd"}};
constexpr PeerGrant approvald_callers[] = {{"cordon-agent", "agentd"}, {"cordon-audit", "auditd"}, {"cordon-secrets", "secretsd"}};
// agentd's own clients (MCP agents) are added by the operator, not by provisioning.
constexpr PeerGrant agentd_callers[] = {{"cordon-approve", "approvald"}, {"cordon-audit", "auditd"}, {"cordon-secrets", "secretsd"}};

std::string header(const Bundle& bundle, const paths::Daemon& daemon, std::span<const PeerGrant> callers,
                   const RenderOptions& options) {
  std::string out = fmt::format(
      "# {} configuration, written by cordon-provision (docs/provisioning.md) from the bundle\n"
      "# with SHA-256 {}.\n"
      "# Provisioning rewrites this file: change the bundle instead.\n"
      "tenant = {}\n\n"
      "# Who may call {}: root as admin, and the daemons with the roles {}'s routes grant them.\n"
      "[[peers]]\nuid = 0\nprincipal = \"root\"\nroles = [\"admin\"]\n",
      daemon.name, bundle.sha256, toml_string(bundle.tenant), daemon.name, daemon.name);
  for (const auto& caller : callers) {
    const auto uid = options.peer_uids.find(caller.user);
    const std::string identity = uid == options.peer_uids.end() ? "user = " + toml_string(caller.user)
                                                                 : "uid = " + std::to_string(uid->second);
    out += fmt::format("\n[[peers]]\n{}\nprincipal = {}\nroles = [{}]\n", identity, toml_string(caller.role),
                       toml_string(caller.role));
  }
  return out;
}

std::string https_url(const Bundle& bundle, std::string_view port) {
  return "https://" + url_host(bundle.public_host) + std::string(port) + "/";
}

std::string render_auditd(const Bundle& bundle, const RenderOptions& options) {
  const std::string credentials = paths::auditd.credentials();
  std::string out = header(bundle, paths::auditd, auditd_callers, options);
  out += fmt::format("\n[auditd]\norigin = {}\n# The checkpoint key lives in secretsd's oracle, never in a file here.\n"
                     "checkpoint_key = \"secretsd\"\n",
                     toml_string(bundle.audit_origin));
  out += fmt::format("\n# The auditor HTTPS listener: systemd passes its socket (\"auditor\", port 8443) and the\n"
                     "# certificate as credentials, so no `listen` is needed.\n"
                     "[auditd.auditor]\ncert = {}\nkey = {}\n",
                     toml_string(credentials + "/tls.crt"), toml_string(credentials + "/tls.key"));
  if (!bundle.auditors.client_ca_pem.empty())
    out += "client_ca = " + toml_string(credentials + "/auditor-ca.crt") + "\n";
  if (!bundle.auditors.bearer_token_sha256.empty())
    out += "bearer_token_sha256 = " + toml_string_array(bundle.auditors.bearer_token_sha256) + "\n";
  for (const auto& sink : bundle.audit_sinks) {
    out += "\n[[auditd.sinks]]\ntype = " + toml_string(sink_type_name(sink.type)) + "\n";
    out += sink.type == SinkType::postgres ? "dsn = " + toml_string(sink.dsn) + "\n" : "path = " + toml_string(sink.path) + "\n";
  }
  return out;
}

std::string render_secretsd(const Bundle& bundle, const RenderOptions& options) {
  std::string out = header(bundle, paths::secretsd, secretsd_callers, options);
  out += "\n[secretsd]\n# The origin auditd signs checkpoints for; secretsd's oracle signs no other.\n";
  out += "checkpoint_origin = " + toml_string(bundle.audit_origin) + "\n";
  out += "\n[secretsd.kek]\n";
  if (bundle.kek.custody == KekCustody::key_file) {
    out += "# Development only: the KEK is a plain file in the state directory (kek.key).\ncustody = \"key_file\"\n";
    return out;
  }
  out += "custody = \"tpm\"\ntcti = \"device:/dev/tpmrm0\"\n";
  if (!bundle.kek.pcrs.empty()) {
    std::vector<std::string> pcrs;
    for (unsigned pcr : bundle.kek.pcrs) pcrs.push_back(std::to_string(pcr));
    out += "pcrs = " + toml_string_array(pcrs) + "\n";
  }
  return out;
}

std::string render_approvald(const Bundle& bundle, const RenderOptions& options) {
  const std::string credentials = paths::approvald.credentials();
  std::string out = header(bundle, paths::approvald, approvald_callers, options);
  out += fmt::format("\n[approvald]\nconstitution_dir = {}\ndry_run_days = {}\n",
                     toml_string(paths::constitution_dir_at_run_time), bundle.dry_run_days);
  out += fmt::format("\n# The approvers' HTTPS listener: systemd passes its socket (\"approvald-https\", port 443)\n"
                     "# and the certificate as credentials.\n"
                     "[approvald.web]\ncert = {}\nkey = {}\npublic_url = {}\n",
                     toml_string(credentials + "/tls.crt"), toml_string(credentials + "/tls.key"),
                     toml_string(https_url(bundle, "")));
  for (const auto& approver : bundle.approvers) {
    out += fmt::format("\n# Second factor: the secret totp.{} in secretsd (cordon-provision enroll).\n"
                       "[[approvald.approvers]]\nname = {}\nemail = {}\ngroups = {}\n",
                       approver.name, toml_string(approver.name), toml_string(approver.email),
                       toml_string_array(approver.groups));
  }
  for (std::size_t i = 0; i < bundle.webhooks.size(); ++i) {
    const auto& webhook = bundle.webhooks[i];
    out += fmt::format("\n[[approvald.webhooks]]\ntype = {}\nurl = {}\n", toml_string(webhook_type_name(webhook.type)),
                       toml_string(webhook.url));
    if (webhook.type == WebhookType::generic) out += "secret_file = " + toml_string(webhook_secret_path(i)) + "\n";
    if (!webhook.ca_pem.empty()) out += "ca_file = " + toml_string(webhook_ca_path(i)) + "\n";
  }
  return out;
}

std::string render_agentd(const Bundle& bundle, const RenderOptions& options) {
  std::string out = header(bundle, paths::agentd, agentd_callers, options);
  // No approval_url: approvald serves pages only for the approvers' one-time links, so there is
  // no page an approval id could point the agent's operator to; a held call names the id.
  out += fmt::format("\n[agentd]\nmarkers_file = {}\nworkspace = {}\n", toml_string(paths::markers_file_at_run_time),
                     toml_string(paths::workspace_at_run_time));
  const std::string credentials = paths::agentd.credentials();
  out += fmt::format("\n# MCP for the agents, on other hosts: systemd passes the socket (\"agentd-remote\", port\n"
                     "# 7443) and the certificate as credentials, so no `listen` is needed.\n"
                     "[agentd.remote]\ncert = {}\nkey = {}\n",
                     toml_string(credentials + "/tls.crt"), toml_string(credentials + "/tls.key"));
  if (!bundle.agents.client_ca_pem.empty()) out += "client_ca = " + toml_string(credentials + "/agent-ca.crt") + "\n";
  if (!bundle.agents.bearer_token_sha256.empty())
    out += "bearer_token_sha256 = " + toml_string_array(bundle.agents.bearer_token_sha256) + "\n";
  for (const auto& database : bundle.databases) {
    out += fmt::format("\n# Reached at {} (50-egress.conf).\n[[agentd.databases]]\nname = {}\ndsn = {}\n",
                       database.address, toml_string(database.name), toml_string(database.dsn));
    if (database.statement_timeout_ms) out += fmt::format("statement_timeout_ms = {}\n", *database.statement_timeout_ms);
    if (database.max_rows) out += fmt::format("max_rows = {}\n", *database.max_rows);
  }
  for (std::size_t i = 0; i < bundle.http_hosts.size(); ++i) {
    const auto& host = bundle.http_hosts[i];
    out += fmt::format("\n# Reached at {} (50-egress.conf).\n[[agentd.http_hosts]]\nhost = {}\n", host.address,
                       toml_string(host.host));
    if (host.port) out += fmt::format("port = {}\n", *host.port);
    if (host.credential) out += "credential = " + toml_string(*host.credential) + "\n";
    if (host.credential_header) out += "credential_header = " + toml_string(*host.credential_header) + "\n";
    if (host.credential_prefix) out += "credential_prefix = " + toml_string(*host.credential_prefix) + "\n";
    if (!host.ca_pem.empty()) out += "ca_file = " + toml_string(http_host_ca_path(i)) + "\n";
  }
  return out;
}

} // namespace

std::string webhook_secret_path(std::size_t index) {
  return "/etc/cordon/webhook-" + std::to_string(index + 1) + ".secret";
}

std::string http_host_ca_path(std::size_t index) {
  return "/etc/cordon/http-host-" + std::to_string(index + 1) + ".ca";
}

std::string webhook_ca_path(std::size_t index) {
  return "/etc/cordon/webhook-" + std::to_string(index + 1) + ".ca";
}

DaemonConfigs render_daemon_configs(const Bundle& bundle, const RenderOptions& options) {
  return DaemonConfigs{render_auditd(bundle, options), render_secretsd(bundle, options),
                       render_approvald(bundle, options), render_agentd(bundle, options)};
}

} // namespace cordon::provisioning

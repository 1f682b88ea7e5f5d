#include "provisioning/install_plan.h"

#include <algorithm>
#include <set>
#include <system_error>

#include "approvald/policy/constitution.h"
#include "common/files.h"
#include "provisioning/paths.h"
#include "provisioning/provisioning_record.h"
#include "provisioning/shadow_file.h"
#include "provisioning/tls_material.h"
#include "provisioning/unit_dropins.h"

namespace cordon::provisioning {
namespace {

namespace fs = std::filesystem;

std::string relative(std::string_view absolute) { return std::string(absolute.substr(1)); }

// The *.toml files of a directory, by name. Errc::not_found when it cannot be read.
Result<std::vector<ConstitutionFile>> toml_files_in(const fs::path& directory) {
  std::error_code error;
  std::vector<ConstitutionFile> files;
  for (const auto& entry : fs::directory_iterator(directory, error)) {
    if (entry.path().extension() != ".toml" || !entry.is_regular_file(error)) continue;
    files.push_back({entry.path().filename().string(), CORDON_TRY(read_file(entry.path()))});
  }
  if (error) return fail(Errc::not_found, "cannot read " + directory.string() + ": " + error.message());
  std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) { return a.file < b.file; });
  return files;
}

// The bundle's constitution, or the shipped one; checked by approvald's parser either way.
Result<std::vector<ConstitutionFile>> constitution_of(const Bundle& bundle, const PlanOptions& options) {
  if (!bundle.constitution.empty()) return bundle.constitution;
  auto files = CORDON_TRY(toml_files_in(options.constitution_source));
  if (files.empty())
    return fail(Errc::not_found, options.constitution_source.string() + " holds no *.toml and the bundle no [[constitution]]");
  std::vector<approvald::ConstitutionFile> texts;
  for (const auto& file : files) texts.push_back({file.file, file.text});
  if (auto parsed = approvald::parse_constitution(texts); !parsed)
    return fail(parsed.error().code, "the default constitution in " + options.constitution_source.string() +
                                         " is not valid: " + parsed.error().message);
  return files;
}

// Files in `directory` named <prefix>*<suffix> that an earlier provisioning wrote and this plan
// does not: a constitution file or webhook key left behind would still be read.
void add_stale(InstallPlan& plan, const fs::path& root, std::string_view directory, std::string_view prefix,
               std::string_view suffix) {
  std::set<std::string> wanted;
  for (const auto& file : plan.files) wanted.insert(file.path);
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(root / directory, error)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with(prefix) || !name.ends_with(suffix)) continue;
    const std::string path = std::string(directory) + "/" + name;
    if (!wanted.contains(path)) plan.removals.push_back(path);
  }
}

// The bundle's certificate; else one an earlier provisioning left that still fits (re-running
// configure must not change the fingerprint auditors pinned); else a new self-signed one.
Result<TlsPair> server_certificate(const Bundle& bundle, const PlanOptions& options) {
  if (bundle.tls) return TlsPair{bundle.tls->cert_pem, bundle.tls->key_pem};
  const auto cert = read_file(options.root / paths::server_cert);
  const auto key = read_file(options.root / paths::server_key);
  if (cert && key) {
    TlsPair existing{*cert, *key};
    if (check_server_certificate(existing, bundle.certificate_names(), options.now)) return existing;
  }
  return generate_self_signed_certificate(bundle.certificate_names(), options.now);
}

Result<PlannedFile> shadow_file(const Bundle& bundle, const PlanOptions& options) {
  const fs::path path = options.root / paths::shadow;
  auto text = read_file(path);
  if (!text) return fail(Errc::not_found, "cannot read " + path.string() + " to set the console password");
  auto updated = with_root_password_hash(*text, *bundle.console_password_sha512);
  if (!updated) return fail(updated.error().code, path.string() + ": " + updated.error().message);
  PlannedFile file{std::string(paths::shadow), std::move(*updated), 0640, "root", "shadow"};
  file.keep_existing_owner = true;
  return file;
}

// The CAs that webhooks or HTTP hosts bring of their own (the bundle's `ca`): each written 0644
// at path_of(its index); a CA file named `<prefix>*.ca` that the bundle no longer has is removed.
template <class Item>
void add_own_cas(InstallPlan& plan, const fs::path& root, const std::vector<Item>& items,
                 std::string (*path_of)(std::size_t), std::string_view prefix) {
  for (std::size_t i = 0; i < items.size(); ++i)
    if (!items[i].ca_pem.empty()) plan.files.push_back({relative(path_of(i)), items[i].ca_pem, 0644});
  add_stale(plan, root, paths::etc_cordon, prefix, ".ca");
}

} // namespace

const PlannedFile* InstallPlan::find(std::string_view path) const {
  for (const auto& file : files)
    if (file.path == path) return &file;
  return nullptr;
}

Result<InstallPlan> plan_installation(const Bundle& bundle, const PlanOptions& options) {
  InstallPlan plan;
  plan.directories = {{std::string(paths::etc_cordon), 0755}, {std::string(paths::tls_dir), 0700},
                      {std::string(paths::constitution_dir), 0755}};
  for (const auto& daemon : {paths::auditd, paths::approvald, paths::agentd})
    plan.directories.push_back({std::string(paths::systemd_system) + "/" + daemon.unit() + ".d", 0755});

  // TLS: the listeners get these as credentials (LoadCredential= in the units). auditd's unit
  // loads auditor-ca.crt and agentd's agent-ca.crt whether or not their peers use certificates,
  // so the files always exist; one is empty when its peers use bearer tokens only, and the
  // daemon's configuration then names no CA.
  const auto tls = CORDON_TRY(server_certificate(bundle, options));
  plan.files.push_back({std::string(paths::server_cert), tls.cert_pem, 0644});
  plan.files.push_back({std::string(paths::server_key), tls.key_pem, 0600});
  plan.files.push_back({std::string(paths::auditor_ca), bundle.auditors.client_ca_pem, 0644});
  plan.files.push_back({std::string(paths::agent_ca), bundle.agents.client_ca_pem, 0644});

  for (const auto& file : CORDON_TRY(constitution_of(bundle, options)))
    plan.files.push_back({std::string(paths::constitution_dir) + "/" + file.file, file.text, 0640, "root",
                          std::string(paths::approvald.user)});
  add_stale(plan, options.root, paths::constitution_dir, "", ".toml");

  // approvald's notifier reads a webhook key only from a 0600 file of its own user.
  for (std::size_t i = 0; i < bundle.webhooks.size(); ++i) {
    if (bundle.webhooks[i].type != WebhookType::generic) continue;
    plan.files.push_back({relative(webhook_secret_path(i)), bundle.webhooks[i].secret, 0600,
                          std::string(paths::approvald.user), std::string(paths::approvald.user)});
  }
  add_stale(plan, options.root, paths::etc_cordon, "webhook-", ".secret");
  add_own_cas(plan, options.root, bundle.webhooks, webhook_ca_path, "webhook-");
  add_own_cas(plan, options.root, bundle.http_hosts, http_host_ca_path, "http-host-");

  const auto egress = agentd_egress_dropin(bundle);
  plan.files.push_back({egress.path, egress.content, 0644});
  if (auto network = auditd_network_dropin(bundle)) plan.files.push_back({network->path, network->content, 0644});
  else plan.removals.push_back(auditd_network_dropin_path());
  if (auto network = approvald_network_dropin(bundle)) plan.files.push_back({network->path, network->content, 0644});
  else plan.removals.push_back(approvald_network_dropin_path());

  const auto configs = render_daemon_configs(bundle, options.render);
  for (const auto& [daemon, text] : {std::pair{paths::auditd, &configs.auditd}, std::pair{paths::secretsd, &configs.secretsd},
                                     std::pair{paths::approvald, &configs.approvald}, std::pair{paths::agentd, &configs.agentd}})
    plan.files.push_back({daemon.config(), *text, 0640, "root", std::string(daemon.user)});

  if (bundle.console_password_sha512) plan.files.push_back(CORDON_TRY(shadow_file(bundle, options)));

  // Last: a bundle.sha256 says that configure finished for that bundle.
  plan.files.push_back({std::string(paths::provisioning_record), render_record(record_of(bundle)), 0600});
  plan.files.push_back({std::string(paths::bundle_sha256), bundle.sha256 + "\n", 0644});
  return plan;
}

} // namespace cordon::provisioning

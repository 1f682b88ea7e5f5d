#include "provisioning/enrollment.h"

#include <cstdio>
#include <thread>

#include <fmt/format.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/crypto.h"
#include "common/encoding.h"
#include "common/files.h"
#include "common/ipc/unix_client.h"
#include "common/json.h"
#include "common/totp.h"
#include "provisioning/file_installer.h"
#include "provisioning/network_address.h"
#include "provisioning/paths.h"
#include "provisioning/provisioning_record.h"
#include "provisioning/tls_material.h"
#include "provisioning/toml_text.h"

namespace cordon::provisioning {
namespace {

namespace fs = std::filesystem;

struct Checkpoint {
  std::string origin;
  std::uint64_t size = 0;
  std::string root_hash; // base64
};

Result<Json> json_answer(const Result<ipc::Response>& response, int expected, std::string_view what) {
  if (!response) return fail(response.error().code, fmt::format("{}: {}", what, response.error().message));
  if (response->status != expected) {
    const auto error = ipc::error_from_response(*response);
    return fail(error.code, fmt::format("{}: {}", what, error.message));
  }
  auto body = parse_json(response->body);
  if (!body) return fail(Errc::integrity, fmt::format("{}: the answer is not JSON", what));
  return body;
}

// PUT /v1/secrets/<name>, as `cordonctl secrets put` sends it. A secret secretsd already holds
// (409) was stored by an earlier, interrupted enrollment and counts as stored.
Result<void> put_secret(ipc::UnixClient& secretsd, const std::string& name, std::string value_base64,
                        const std::vector<std::string>& tools) {
  Json body = {{"value_base64", std::move(value_base64)}, {"tools", tools}};
  std::string text = body.dump();
  auto& stored = body["value_base64"].get_ref<std::string&>();
  crypto::wipe({reinterpret_cast<std::uint8_t*>(stored.data()), stored.size()});
  auto response = secretsd.request(ipc::Method::put, "/v1/secrets/" + name, text);
  crypto::wipe({reinterpret_cast<std::uint8_t*>(text.data()), text.size()});
  if (response && response->status == 409) return ok();
  CORDON_TRY(json_answer(response, 201, "storing " + name + " in secretsd"));
  return ok();
}

// Every approver's second factor, then the bundle's secrets.
Result<void> store_secrets(ipc::UnixClient& secretsd, const ProvisioningRecord& record) {
  for (const auto& approver : record.approvers) {
    if (!approver.totp_secret) continue;
    auto seed = totp::base32_decode(*approver.totp_secret);
    if (!seed) return fail(Errc::invalid_argument, "provisioning.toml: approver " + approver.name + "'s TOTP seed is not base32");
    std::string encoded = to_base64(*seed);
    crypto::wipe(*seed);
    CORDON_TRY_VOID(put_secret(secretsd, "totp." + approver.name, std::move(encoded), {"approval.totp"}));
  }
  for (const auto& secret : record.secrets) {
    if (!secret.value_base64) continue;
    CORDON_TRY_VOID(put_secret(secretsd, secret.name, *secret.value_base64, secret.tools));
  }
  return ok();
}

// secretsd's public keys with the SHA-256 of each raw key: what an auditor compares later.
Result<Json> key_fingerprints(ipc::UnixClient& secretsd) {
  const auto listed = CORDON_TRY(json_answer(secretsd.get("/v1/keys"), 200, "listing secretsd's keys"));
  Json keys = Json::array();
  if (!listed.contains("keys") || !listed["keys"].is_array())
    return fail(Errc::integrity, "listing secretsd's keys: no keys array");
  for (const auto& key : listed["keys"]) {
    if (!key.contains("public_key") || !key["public_key"].is_string() || !key.contains("name") || !key.contains("purpose"))
      return fail(Errc::integrity, "listing secretsd's keys: a key without name, purpose or public_key");
    const auto raw = from_base64(key["public_key"].get<std::string>());
    if (!raw) return fail(Errc::integrity, "listing secretsd's keys: a public key that is not base64");
    keys.push_back({{"name", key["name"]}, {"purpose", key["purpose"]}, {"public_key_sha256", to_hex(crypto::sha256(*raw))}});
  }
  return keys;
}

// auditd's verifier key, once auditd has its checkpoint key from secretsd (503 until then).
Result<std::string> verifier_key(ipc::UnixClient& auditd, std::chrono::seconds wait) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (true) {
    auto response = auditd.get("/v1/verifier-key");
    if (response && response->status == 200) {
      std::string text = response->body;
      while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
      return text;
    }
    const bool later = response && response->status == 503 && std::chrono::steady_clock::now() < deadline;
    if (!later) {
      if (!response) return fail(response.error().code, "asking auditd for its verifier key: " + response.error().message);
      return fail(ipc::error_from_response(*response).code,
                  "asking auditd for its verifier key: " + ipc::error_from_response(*response).message);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

// The first three lines of the signed note (C2SP checkpoint): origin, tree size, root hash.
Result<Checkpoint> checkpoint(ipc::UnixClient& auditd) {
  auto response = auditd.get("/v1/checkpoint");
  if (!response) return fail(response.error().code, "asking auditd for its checkpoint: " + response.error().message);
  if (response->status != 200)
    return fail(ipc::error_from_response(*response).code,
                "asking auditd for its checkpoint: " + ipc::error_from_response(*response).message);
  std::string_view note = response->body;
  std::string lines[3];
  for (auto& line : lines) {
    const auto end = note.find('\n');
    if (end == std::string_view::npos) return fail(Errc::integrity, "auditd's checkpoint is not a signed note");
    line = std::string(note.substr(0, end));
    note.remove_prefix(end + 1);
  }
  Checkpoint out{lines[0], 0, lines[2]};
  if (lines[1].empty() || lines[1].find_first_not_of("0123456789") != std::string::npos)
    return fail(Errc::integrity, "auditd's checkpoint has no tree size");
  out.size = std::stoull(lines[1]);
  return out;
}

Result<std::string> kek_custody(ipc::UnixClient& secretsd) {
  const auto status = CORDON_TRY(json_answer(secretsd.get("/v1/status"), 200, "asking secretsd for its status"));
  if (!status.contains("kek_custody") || !status["kek_custody"].is_string())
    return fail(Errc::integrity, "secretsd's status names no kek_custody");
  return status["kek_custody"].get<std::string>();
}

Json event_of(const ProvisioningRecord& record, const std::string& custody, const Json& keys, const std::string& verifier,
              const Checkpoint& head, const std::string& certificate) {
  Json approvers = Json::array();
  for (const auto& approver : record.approvers) approvers.push_back(approver.name);
  Json data = {{"tenant", record.tenant},
               {"bundle_sha256", record.bundle_sha256},
               {"kek_custody", custody},
               {"dry_run_days", record.dry_run_days},
               {"keys", keys},
               {"verifier_key", verifier},
               {"checkpoint", {{"origin", head.origin}, {"size", head.size}, {"root_hash", head.root_hash}}},
               {"tls_certificate_sha256", certificate},
               {"approvers", approvers},
               {"databases", record.databases},
               {"http_hosts", record.http_hosts},
               {"sinks", record.audit_sinks}};
  return Json{{"kind", "tenant.provisioned"}, {"actor", {{"type", "system"}, {"id", "provisioning"}}}, {"data", std::move(data)}};
}

std::string console_block(const ProvisioningRecord& record, const std::string& custody, const std::string& verifier,
                          const std::string& certificate) {
  const std::string host = url_host(record.public_host);
  const std::string mode = record.dry_run_days == 0 ? std::string("live")
                                                    : fmt::format("dry-run for {} day{}", record.dry_run_days,
                                                                  record.dry_run_days == 1 ? "" : "s");
  return fmt::format("Cordon is provisioned for tenant {}.\n"
                     "  auditor URL:    https://{}:8443/\n"
                     "  approvals URL:  https://{}/\n"
                     "  agents' MCP:    https://{}:7443/mcp\n"
                     "  verifier key:   {}\n"
                     "  TLS certificate sha256: {}\n"
                     "  KEK custody:    {}\n"
                     "  mode:           {}\n",
                     record.tenant, host, host, host, verifier, certificate, custody, mode);
}

Result<void> write_root_file(const fs::path& root, std::string_view path, std::string content, std::uint32_t mode) {
  InstallPlan plan;
  plan.files.push_back({std::string(path), std::move(content), mode});
  return install(plan, root, ::geteuid() == 0 ? Ownership::apply : Ownership::skip);
}

} // namespace

Result<EnrollReport> enroll(const EnrollOptions& options) {
  if (auto marker = read_file(options.root / paths::provisioned_marker))
    return EnrollReport{true, "already enrolled:\n" + *marker};
  const fs::path record_path = options.root / paths::provisioning_record;
  const auto text = CORDON_TRY(read_file(record_path));
  const auto record = CORDON_TRY(parse_record(text, record_path.string()));

  ipc::UnixClient secretsd(options.secretsd_socket);
  ipc::UnixClient auditd(options.auditd_socket);
  CORDON_TRY_VOID(store_secrets(secretsd, record));
  const auto custody = CORDON_TRY(kek_custody(secretsd));
  const auto keys = CORDON_TRY(key_fingerprints(secretsd));
  const auto verifier = CORDON_TRY(verifier_key(auditd, options.verifier_wait));
  const auto head = CORDON_TRY(checkpoint(auditd));
  const auto certificate_pem = CORDON_TRY(read_file(options.root / paths::server_cert));
  const auto certificate = CORDON_TRY(certificate_sha256(certificate_pem));

  const std::string event = event_of(record, custody, keys, verifier, head, certificate).dump();
  CORDON_TRY(json_answer(auditd.post("/v1/events", event), 201, "recording tenant.provisioned in auditd"));

  // The seeds and values are in secretsd now. The new record is written beside the old one, the
  // old one is overwritten in place and removed (shred_file), and the new one takes its name.
  const std::string scrubbed = std::string(paths::provisioning_record) + ".scrubbed";
  CORDON_TRY_VOID(write_root_file(options.root, scrubbed, render_record(record.without_secrets()), 0600));
  CORDON_TRY_VOID(shred_file(record_path));
  if (::rename((options.root / scrubbed).c_str(), record_path.c_str()) != 0)
    return fail(Errc::io_error, "cannot rename " + (options.root / scrubbed).string() + " to " + record_path.string());
  const std::string marker = fmt::format("tenant = {}\nprovisioned_at = {}\nbundle_sha256 = {}\n", toml_string(record.tenant),
                                         toml_string(format_rfc3339_micros(std::chrono::system_clock::now())),
                                         toml_string(record.bundle_sha256));
  CORDON_TRY_VOID(write_root_file(options.root, paths::provisioned_marker, marker, 0644));
  return EnrollReport{false, console_block(record, custody, verifier, certificate)};
}

} // namespace cordon::provisioning

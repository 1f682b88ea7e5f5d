#include "provisioning/bundle.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "approvald/policy/constitution.h"
#include "common/config.h"
#include "common/crypto.h"
#include "common/encoding.h"
#include "common/ipc/http.h"
#include "common/totp.h"
#include "provisioning/network_address.h"
#include "provisioning/tls_material.h"

namespace cordon::provisioning {
namespace {

// What ConfigFile calls the bundle in its messages; removed again, so messages start with the key.
constexpr std::string_view source_name = "bundle";
constexpr std::string_view lowercase_digits = "abcdefghijklmnopqrstuvwxyz0123456789";
constexpr std::size_t min_totp_secret_bytes = 16;
constexpr std::size_t max_secret_value_bytes = 64 << 10; // secretsd's vault limit

tl::unexpected<Error> invalid(const ConfigFile& table, std::string_view key, std::string_view reason) {
  return fail(Errc::invalid_argument, table.full_key(key) + ": " + std::string(reason));
}

// 1..max bytes: the first from `first`, the rest from `rest`.
bool is_name(std::string_view text, std::size_t max, std::string_view first, std::string_view rest) {
  return !text.empty() && text.size() <= max && first.find(text.front()) != std::string_view::npos &&
         text.find_first_not_of(rest) == std::string_view::npos;
}

bool is_tenant(std::string_view text) {
  return is_name(text, 32, lowercase_digits, "abcdefghijklmnopqrstuvwxyz0123456789-");
}

bool is_approver_name(std::string_view text) {
  return is_name(text, 64, lowercase_digits, "abcdefghijklmnopqrstuvwxyz0123456789._-");
}

// approvald's approver groups and agentd's database names: 1..64 of [a-z0-9._-].
bool is_identifier(std::string_view text) {
  return is_name(text, 64, "abcdefghijklmnopqrstuvwxyz0123456789._-", "abcdefghijklmnopqrstuvwxyz0123456789._-");
}

// secretsd's short names (secrets and tools): 1..128 of [a-z0-9._-], starting with a letter or digit.
bool is_vault_name(std::string_view text) {
  return is_name(text, 128, lowercase_digits, "abcdefghijklmnopqrstuvwxyz0123456789._-");
}

bool is_constitution_file_name(std::string_view text) {
  return text.size() > 5 && text.size() <= 128 && text.ends_with(".toml") &&
         is_name(text.substr(0, text.size() - 5), 123, "abcdefghijklmnopqrstuvwxyz0123456789._-",
                 "abcdefghijklmnopqrstuvwxyz0123456789._-");
}

bool has_control_or_space(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte <= 0x20 || byte == 0x7f;
  });
}

// crypt(3) SHA-512: $6$[rounds=N$]<salt, 1..16 of [./0-9A-Za-z]>$<86 of the same>.
bool is_sha512_crypt(std::string_view text) {
  constexpr std::string_view alphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  if (!text.starts_with("$6$")) return false;
  text.remove_prefix(3);
  if (text.starts_with("rounds=")) {
    const auto end = text.find('$');
    const auto digits = text.substr(7, end == std::string_view::npos ? 0 : end - 7);
    if (digits.empty() || digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string_view::npos)
      return false;
    text.remove_prefix(end + 1);
  }
  const auto dollar = text.find('$');
  if (dollar == std::string_view::npos || dollar == 0 || dollar > 16) return false;
  const auto salt = text.substr(0, dollar);
  const auto hash = text.substr(dollar + 1);
  return salt.find_first_not_of(alphabet) == std::string_view::npos && hash.size() == 86 &&
         hash.find_first_not_of(alphabet) == std::string_view::npos;
}

// "https://host[:port][/path]" with a host a client can reach; no user information.
bool is_https_url(std::string_view url) {
  if (!url.starts_with("https://") || has_control_or_space(url)) return false;
  const auto end = url.find_first_of("/?#", 8);
  std::string_view authority = url.substr(8, end == std::string_view::npos ? end : end - 8);
  if (authority.find('@') != std::string_view::npos) return false;
  std::string_view port;
  if (authority.starts_with("[")) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos || !is_ipv6_address(authority.substr(1, close - 1))) return false;
    const auto rest = authority.substr(close + 1);
    if (!rest.empty() && !rest.starts_with(":")) return false;
    if (!rest.empty()) port = rest.substr(1);
    if (!rest.empty() && port.empty()) return false;
  } else {
    const auto colon = authority.find(':');
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      if (port.empty()) return false;
      authority = authority.substr(0, colon);
    }
    if (!is_host(authority)) return false;
  }
  if (port.empty()) return true;
  if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos) return false;
  const int number = std::stoi(std::string(port));
  return number >= 1 && number <= 65535;
}

Result<std::string> address_of(const ConfigFile& table) {
  auto address = CORDON_TRY(table.string("address"));
  if (!is_address_or_prefix(address))
    return invalid(table, "address", "\"" + address + "\" is not an IPv4 or IPv6 address or CIDR block");
  return address;
}

Result<std::optional<std::string>> optional_password_hash(const ConfigFile& root) {
  auto admin = CORDON_TRY(root.optional_table("admin"));
  if (!admin) return std::optional<std::string>();
  CORDON_TRY_VOID(admin->require_known_keys({"console_password_sha512"}));
  auto hash = CORDON_TRY(admin->optional_string("console_password_sha512"));
  if (hash && !is_sha512_crypt(*hash))
    return invalid(*admin, "console_password_sha512",
                   "not a crypt(3) SHA-512 hash (\"$6$<salt>$<86 characters>\", as `openssl passwd -6` prints)");
  return hash;
}

Result<KekSettings> parse_kek(const ConfigFile& root) {
  KekSettings kek;
  auto table = CORDON_TRY(root.optional_table("kek"));
  if (!table) return kek;
  CORDON_TRY_VOID(table->require_known_keys({"custody", "allow_development", "pcrs"}));
  const auto custody = CORDON_TRY(table->optional_string("custody")).value_or("tpm");
  const bool development = CORDON_TRY(table->optional_boolean("allow_development")).value_or(false);
  if (custody == "key_file") {
    if (!development)
      return invalid(*table, "custody",
                     "key_file keeps the KEK in a plain file, for development only; set kek.allow_development = true "
                     "to accept that");
    kek.custody = KekCustody::key_file;
  } else if (custody != "tpm") {
    return invalid(*table, "custody", "must be \"tpm\" or \"key_file\"");
  }
  const auto pcrs = CORDON_TRY(table->optional_string_list("pcrs")).value_or(std::vector<std::string>{});
  if (!pcrs.empty() && kek.custody != KekCustody::tpm)
    return invalid(*table, "pcrs", "PCRs apply to custody = \"tpm\" only");
  for (std::size_t i = 0; i < pcrs.size(); ++i) {
    const std::string_view index = std::string_view(pcrs[i]).substr(std::min(pcrs[i].size(), std::size_t{7}));
    const bool well_formed = pcrs[i].starts_with("sha256:") && !index.empty() && index.size() <= 2 &&
                             index.find_first_not_of("0123456789") == std::string_view::npos &&
                             std::stoi(std::string(index)) <= 23;
    if (!well_formed)
      return invalid(*table, "pcrs[" + std::to_string(i) + "]", "\"" + pcrs[i] + "\" is not \"sha256:<0..23>\"");
    const auto number = static_cast<unsigned>(std::stoi(std::string(index)));
    if (std::find(kek.pcrs.begin(), kek.pcrs.end(), number) != kek.pcrs.end())
      return invalid(*table, "pcrs[" + std::to_string(i) + "]", "PCR " + std::to_string(number) + " is listed twice");
    kek.pcrs.push_back(number);
  }
  return kek;
}

Result<std::optional<TlsSettings>> parse_tls(const ConfigFile& root, const std::vector<std::string>& names,
                                             std::chrono::system_clock::time_point now) {
  auto table = CORDON_TRY(root.optional_table("tls"));
  if (!table) return std::optional<TlsSettings>();
  CORDON_TRY_VOID(table->require_known_keys({"cert", "key"}));
  auto cert = CORDON_TRY(table->optional_string("cert"));
  auto key = CORDON_TRY(table->optional_string("key"));
  if (cert && !key) return invalid(*table, "key", "missing: tls.cert and tls.key come together");
  if (key && !cert) return invalid(*table, "cert", "missing: tls.cert and tls.key come together");
  if (!cert) return std::optional<TlsSettings>();
  if (auto counted = count_certificates(*cert); !counted) return invalid(*table, "cert", counted.error().message);
  if (auto parsed = check_private_key(*key); !parsed) return invalid(*table, "key", parsed.error().message);
  if (auto matched = check_key_matches(*cert, *key); !matched)
    return invalid(*table, "key", "does not match tls.cert");
  if (auto named = check_certificate_names(*cert, names); !named) return invalid(*table, "cert", named.error().message);
  if (auto current = check_certificate_validity(*cert, now); !current)
    return invalid(*table, "cert", current.error().message);
  return std::optional<TlsSettings>(TlsSettings{std::move(*cert), std::move(*key)});
}

// [auditors] or [agents]: who may authenticate to that listener (`peers` names them in errors).
Result<ClientCredentials> parse_client_credentials(const ConfigFile& root, std::string_view key, std::string_view peers) {
  auto table = CORDON_TRY(root.table(key));
  CORDON_TRY_VOID(table.require_known_keys({"client_ca", "bearer_token_sha256"}));
  ClientCredentials credentials;
  credentials.client_ca_pem = CORDON_TRY(table.optional_string("client_ca")).value_or("");
  if (!credentials.client_ca_pem.empty()) {
    if (auto counted = count_certificates(credentials.client_ca_pem); !counted)
      return invalid(table, "client_ca", counted.error().message);
  }
  credentials.bearer_token_sha256 =
      CORDON_TRY(table.optional_string_list("bearer_token_sha256")).value_or(std::vector<std::string>{});
  for (std::size_t i = 0; i < credentials.bearer_token_sha256.size(); ++i) {
    auto& digest = credentials.bearer_token_sha256[i];
    std::transform(digest.begin(), digest.end(), digest.begin(), [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); });
    if (digest.size() != 64 || digest.find_first_not_of("0123456789abcdef") != std::string::npos)
      return invalid(table, "bearer_token_sha256[" + std::to_string(i) + "]", "not a SHA-256 digest in hex (64 digits)");
  }
  if (credentials.client_ca_pem.empty() && credentials.bearer_token_sha256.empty())
    return fail(Errc::invalid_argument, std::string(key) + ": give client_ca or bearer_token_sha256, or no " +
                                            std::string(peers) + " could ever authenticate");
  return credentials;
}

Result<std::string> totp_secret_of(const ConfigFile& entry) {
  auto text = CORDON_TRY(entry.string("totp_secret"));
  auto decoded = totp::base32_decode(text);
  if (!decoded) return invalid(entry, "totp_secret", "not base32 (A-Z, 2-7, no spaces)");
  const std::size_t size = decoded->size();
  std::fill(decoded->begin(), decoded->end(), std::uint8_t{0});
  if (size < min_totp_secret_bytes)
    return invalid(entry, "totp_secret",
                   fmt::format("decodes to {} bytes; at least {} are needed (32 base32 characters)", size,
                               min_totp_secret_bytes));
  std::string normal;
  for (char c : text)
    if (c != '=') normal.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  return normal;
}

Result<std::vector<Approver>> parse_approvers(const ConfigFile& root) {
  const auto entries = CORDON_TRY(root.optional_table_list("approvers")).value_or(std::vector<ConfigFile>{});
  if (entries.empty())
    return fail(Errc::invalid_argument, "approvers: at least one [[approvers]] is required: nobody could approve");
  std::vector<Approver> approvers;
  for (const auto& entry : entries) {
    CORDON_TRY_VOID(entry.require_known_keys({"name", "email", "groups", "totp_secret"}));
    Approver approver;
    approver.name = CORDON_TRY(entry.string("name"));
    if (!is_approver_name(approver.name)) return invalid(entry, "name", "must match ^[a-z0-9][a-z0-9._-]{0,63}$");
    for (const auto& known : approvers)
      if (known.name == approver.name) return invalid(entry, "name", "\"" + approver.name + "\" is listed twice");
    approver.email = CORDON_TRY(entry.string("email"));
    const auto at = approver.email.find('@');
    if (approver.email.size() > 254 || has_control_or_space(approver.email) || at == 0 ||
        at == std::string::npos || at + 1 == approver.email.size() || approver.email.find('@', at + 1) != std::string::npos)
      return invalid(entry, "email", "not an e-mail address");
    approver.groups = CORDON_TRY(entry.optional_string_list("groups")).value_or(std::vector<std::string>{});
    for (std::size_t i = 0; i < approver.groups.size(); ++i)
      if (!is_identifier(approver.groups[i]))
        return invalid(entry, "groups[" + std::to_string(i) + "]", "must be 1..64 of [a-z0-9._-]");
    approver.totp_secret = CORDON_TRY(totp_secret_of(entry));
    approvers.push_back(std::move(approver));
  }
  return approvers;
}

Result<std::vector<Webhook>> parse_webhooks(const ConfigFile& root) {
  std::vector<Webhook> webhooks;
  for (const auto& entry : CORDON_TRY(root.optional_table_list("webhooks")).value_or(std::vector<ConfigFile>{})) {
    CORDON_TRY_VOID(entry.require_known_keys({"type", "url", "address", "secret", "ca"}));
    Webhook webhook;
    const auto type = CORDON_TRY(entry.string("type"));
    if (type == "slack") webhook.type = WebhookType::slack;
    else if (type == "generic") webhook.type = WebhookType::generic;
    else return invalid(entry, "type", "must be \"slack\" or \"generic\"");
    webhook.url = CORDON_TRY(entry.string("url"));
    if (!is_https_url(webhook.url)) return invalid(entry, "url", "not an https:// URL with a host name or address");
    webhook.address = CORDON_TRY(address_of(entry));
    webhook.secret = CORDON_TRY(entry.optional_string("secret")).value_or("");
    if (webhook.type == WebhookType::slack && !webhook.secret.empty())
      return invalid(entry, "secret", "Slack webhooks are not signed; a secret would not be used");
    if (webhook.type == WebhookType::generic &&
        (webhook.secret.size() < 16 || webhook.secret.size() > 1024 ||
         webhook.secret.find_first_of("\r\n") != std::string::npos))
      return invalid(entry, "secret", "a generic webhook needs its HMAC key: 16..1024 bytes on one line");
    webhook.ca_pem = CORDON_TRY(entry.optional_string("ca")).value_or("");
    if (!webhook.ca_pem.empty()) {
      if (auto counted = count_certificates(webhook.ca_pem); !counted) return invalid(entry, "ca", counted.error().message);
    }
    webhooks.push_back(std::move(webhook));
  }
  return webhooks;
}

Result<std::vector<Database>> parse_databases(const ConfigFile& root) {
  std::vector<Database> databases;
  for (const auto& entry : CORDON_TRY(root.optional_table_list("databases")).value_or(std::vector<ConfigFile>{})) {
    CORDON_TRY_VOID(entry.require_known_keys({"name", "dsn", "address", "statement_timeout_ms", "max_rows"}));
    Database database;
    database.name = CORDON_TRY(entry.string("name"));
    if (!is_identifier(database.name)) return invalid(entry, "name", "must be 1..64 of [a-z0-9._-]");
    for (const auto& known : databases)
      if (known.name == database.name) return invalid(entry, "name", "\"" + database.name + "\" is listed twice");
    database.dsn = CORDON_TRY(entry.string("dsn"));
    if (database.dsn.empty()) return invalid(entry, "dsn", "must not be empty");
    database.address = CORDON_TRY(address_of(entry));
    database.statement_timeout_ms = CORDON_TRY(entry.optional_integer("statement_timeout_ms", 1, 600'000));
    database.max_rows = CORDON_TRY(entry.optional_integer("max_rows", 1, 10'000));
    databases.push_back(std::move(database));
  }
  return databases;
}

Result<std::vector<HttpHost>> parse_http_hosts(const ConfigFile& root) {
  std::vector<HttpHost> hosts;
  for (const auto& entry : CORDON_TRY(root.optional_table_list("http_hosts")).value_or(std::vector<ConfigFile>{})) {
    CORDON_TRY_VOID(entry.require_known_keys(
        {"host", "port", "address", "credential", "credential_header", "credential_prefix", "ca"}));
    HttpHost host;
    host.host = CORDON_TRY(entry.string("host"));
    if (!is_host(host.host)) return invalid(entry, "host", "must be a lowercase DNS name or an IP address");
    host.port = CORDON_TRY(entry.optional_integer("port", 1, 65535));
    for (const auto& known : hosts)
      if (known.host == host.host && known.port.value_or(443) == host.port.value_or(443))
        return invalid(entry, "host", "\"" + host.host + "\" is listed twice on one port");
    host.address = CORDON_TRY(address_of(entry));
    host.credential = CORDON_TRY(entry.optional_string("credential"));
    if (host.credential && !is_vault_name(*host.credential))
      return invalid(entry, "credential", "must name a secret: 1..128 of [a-z0-9._-], starting with a letter or digit");
    host.credential_header = CORDON_TRY(entry.optional_string("credential_header"));
    if (host.credential_header && !ipc::is_valid_header_name(*host.credential_header))
      return invalid(entry, "credential_header", "not an HTTP header name");
    host.credential_prefix = CORDON_TRY(entry.optional_string("credential_prefix"));
    if (host.credential_prefix && !ipc::is_valid_header_value(*host.credential_prefix))
      return invalid(entry, "credential_prefix", "cannot start an HTTP header value");
    host.ca_pem = CORDON_TRY(entry.optional_string("ca")).value_or("");
    if (!host.ca_pem.empty()) {
      if (auto counted = count_certificates(host.ca_pem); !counted) return invalid(entry, "ca", counted.error().message);
    }
    hosts.push_back(std::move(host));
  }
  return hosts;
}

Result<std::vector<AuditSink>> parse_audit_sinks(const ConfigFile& root) {
  std::vector<AuditSink> sinks;
  for (const auto& entry : CORDON_TRY(root.optional_table_list("audit_sinks")).value_or(std::vector<ConfigFile>{})) {
    AuditSink sink;
    const auto type = CORDON_TRY(entry.string("type"));
    if (type == "postgres") {
      CORDON_TRY_VOID(entry.require_known_keys({"type", "dsn", "address"}));
      sink.type = SinkType::postgres;
      sink.dsn = CORDON_TRY(entry.string("dsn"));
      if (sink.dsn.empty()) return invalid(entry, "dsn", "must not be empty");
      sink.address = CORDON_TRY(address_of(entry));
    } else if (type == "jsonl") {
      CORDON_TRY_VOID(entry.require_known_keys({"type", "path"}));
      sink.type = SinkType::jsonl;
      sink.path = CORDON_TRY(entry.string("path"));
      if (!sink.path.starts_with("/") || sink.path.find_first_of(std::string_view("\0\n", 2)) != std::string::npos)
        return invalid(entry, "path", "must be an absolute path");
    } else {
      return invalid(entry, "type", "must be \"postgres\" or \"jsonl\"");
    }
    sinks.push_back(std::move(sink));
  }
  return sinks;
}

Result<std::vector<BundleSecret>> parse_secrets(const ConfigFile& root) {
  std::vector<BundleSecret> secrets;
  for (const auto& entry : CORDON_TRY(root.optional_table_list("secrets")).value_or(std::vector<ConfigFile>{})) {
    CORDON_TRY_VOID(entry.require_known_keys({"name", "tools", "value"}));
    BundleSecret secret;
    secret.name = CORDON_TRY(entry.string("name"));
    if (!is_vault_name(secret.name))
      return invalid(entry, "name", "must be 1..128 of [a-z0-9._-], starting with a letter or digit");
    if (secret.name.starts_with("totp."))
      return invalid(entry, "name", "totp.* names are approvers' second factors; give approvers[].totp_secret instead");
    for (const auto& known : secrets)
      if (known.name == secret.name) return invalid(entry, "name", "\"" + secret.name + "\" is listed twice");
    secret.tools = CORDON_TRY(entry.string_list("tools"));
    if (secret.tools.empty() || secret.tools.size() > 32)
      return invalid(entry, "tools", "must name 1..32 tools (the secret's scope)");
    for (std::size_t i = 0; i < secret.tools.size(); ++i)
      if (!is_vault_name(secret.tools[i]))
        return invalid(entry, "tools[" + std::to_string(i) + "]", "not a tool name");
    secret.value = CORDON_TRY(entry.string("value"));
    if (secret.value.empty() || secret.value.size() > max_secret_value_bytes)
      return invalid(entry, "value", "must hold 1 byte to 64 KiB");
    secrets.push_back(std::move(secret));
  }
  return secrets;
}

Result<std::vector<ConstitutionFile>> parse_constitution(const ConfigFile& root) {
  std::vector<ConstitutionFile> files;
  for (const auto& entry : CORDON_TRY(root.optional_table_list("constitution")).value_or(std::vector<ConfigFile>{})) {
    CORDON_TRY_VOID(entry.require_known_keys({"file", "text"}));
    ConstitutionFile file;
    file.file = CORDON_TRY(entry.string("file"));
    if (!is_constitution_file_name(file.file)) return invalid(entry, "file", "must match ^[0-9a-z._-]+\\.toml$");
    for (const auto& known : files)
      if (known.file == file.file) return invalid(entry, "file", "\"" + file.file + "\" is listed twice");
    file.text = CORDON_TRY(entry.string("text"));
    files.push_back(std::move(file));
  }
  if (files.empty()) return files;
  std::vector<approvald::ConstitutionFile> texts;
  for (const auto& file : files) texts.push_back({file.file, file.text});
  if (auto parsed = approvald::parse_constitution(texts); !parsed)
    return fail(parsed.error().code, "constitution: " + parsed.error().message);
  return files;
}

Result<Bundle> parse_document(const ConfigFile& root, std::chrono::system_clock::time_point now) {
  CORDON_TRY_VOID(root.require_known_keys({"bundle_version", "tenant", "public_host", "san", "dry_run_days",
                                           "audit_origin", "admin", "kek", "tls", "auditors", "agents", "approvers",
                                           "webhooks", "databases", "http_hosts", "audit_sinks", "secrets",
                                           "constitution"}));
  const auto version = CORDON_TRY(root.integer("bundle_version"));
  if (version != 1)
    return invalid(root, "bundle_version", "is " + std::to_string(version) + "; this cordon-provision reads version 1");
  Bundle bundle;
  bundle.tenant = CORDON_TRY(root.string("tenant"));
  if (!is_tenant(bundle.tenant)) return invalid(root, "tenant", "must match ^[a-z0-9][a-z0-9-]{0,31}$");
  bundle.public_host = CORDON_TRY(root.string("public_host"));
  if (!is_host(bundle.public_host))
    return invalid(root, "public_host", "must be a lowercase DNS name or an IP address");
  const auto san = CORDON_TRY(root.optional_string_list("san")).value_or(std::vector<std::string>{});
  for (std::size_t i = 0; i < san.size(); ++i) {
    if (!is_host(san[i]))
      return invalid(root, "san[" + std::to_string(i) + "]", "\"" + san[i] + "\" is not a lowercase DNS name or an IP address");
    if (san[i] != bundle.public_host && std::find(bundle.san.begin(), bundle.san.end(), san[i]) == bundle.san.end())
      bundle.san.push_back(san[i]);
  }
  bundle.dry_run_days = CORDON_TRY(root.optional_integer("dry_run_days", 0, 90)).value_or(7);
  bundle.audit_origin = CORDON_TRY(root.optional_string("audit_origin")).value_or(bundle.tenant + ".cordon.local/audit");
  if (bundle.audit_origin.empty() || bundle.audit_origin.size() > 255 || has_control_or_space(bundle.audit_origin) ||
      bundle.audit_origin.find('+') != std::string::npos)
    return invalid(root, "audit_origin", "must be 1..255 bytes without spaces or '+'");
  bundle.console_password_sha512 = CORDON_TRY(optional_password_hash(root));
  bundle.kek = CORDON_TRY(parse_kek(root));
  bundle.tls = CORDON_TRY(parse_tls(root, bundle.certificate_names(), now));
  bundle.auditors = CORDON_TRY(parse_client_credentials(root, "auditors", "auditor"));
  bundle.agents = CORDON_TRY(parse_client_credentials(root, "agents", "agent"));
  bundle.approvers = CORDON_TRY(parse_approvers(root));
  bundle.webhooks = CORDON_TRY(parse_webhooks(root));
  bundle.databases = CORDON_TRY(parse_databases(root));
  bundle.http_hosts = CORDON_TRY(parse_http_hosts(root));
  bundle.audit_sinks = CORDON_TRY(parse_audit_sinks(root));
  bundle.secrets = CORDON_TRY(parse_secrets(root));
  bundle.constitution = CORDON_TRY(parse_constitution(root));
  return bundle;
}

// ConfigFile's messages start with the source ("bundle: ..."); bundle messages start with the
// key, as "<key>: <reason>".
Error keyed(Error error) {
  std::string_view message = error.message;
  const std::string prefix = std::string(source_name) + ": ";
  const std::string position_prefix = std::string(source_name) + ":";
  constexpr std::string_view missing = "missing required key ";
  if (message.starts_with(prefix)) {
    message.remove_prefix(prefix.size());
    if (message.starts_with(missing)) {
      error.message = std::string(message.substr(missing.size())) + ": required, but missing";
      return error;
    }
    error.message = std::string(message);
  } else if (message.starts_with(position_prefix)) {
    // "bundle:3:7: invalid TOML: ..." from toml++.
    message.remove_prefix(position_prefix.size());
    const auto colon = message.find(':');
    const auto second = message.find(':', colon + 1);
    if (colon != std::string_view::npos && second != std::string_view::npos)
      error.message = "line " + std::string(message.substr(0, colon)) + ", column " +
                      std::string(message.substr(colon + 1, second - colon - 1)) + ":" +
                      std::string(message.substr(second + 1));
  }
  return error;
}

std::string count_of(std::size_t count, std::string_view singular, std::string_view plural) {
  return fmt::format("{} {}", count, count == 1 ? singular : plural);
}

} // namespace

std::string_view kek_custody_name(KekCustody custody) {
  return custody == KekCustody::tpm ? "tpm" : "key_file";
}

std::string_view webhook_type_name(WebhookType type) { return type == WebhookType::slack ? "slack" : "generic"; }

std::string_view sink_type_name(SinkType type) { return type == SinkType::postgres ? "postgres" : "jsonl"; }

std::vector<std::string> Bundle::certificate_names() const {
  std::vector<std::string> names{public_host};
  names.insert(names.end(), san.begin(), san.end());
  return names;
}

Result<Bundle> parse_bundle(std::string_view text, std::chrono::system_clock::time_point now) {
  if (text.size() > max_bundle_bytes)
    return fail(Errc::too_large, fmt::format("the bundle is {} bytes; at most {} (1 MiB) are read", text.size(), max_bundle_bytes));
  auto root = ConfigFile::parse(text, std::string(source_name));
  if (!root) return tl::unexpected(keyed(std::move(root.error())));
  auto parsed = parse_document(*root, now);
  if (!parsed) return tl::unexpected(keyed(std::move(parsed.error())));
  parsed->sha256 = to_hex(crypto::sha256(text));
  return parsed;
}

std::string describe(const Bundle& bundle) {
  std::string text = "tenant " + bundle.tenant + " at " + bundle.public_host;
  text += ", " + count_of(bundle.approvers.size(), "approver", "approvers");
  text += ", " + count_of(bundle.webhooks.size(), "webhook", "webhooks");
  text += ", " + count_of(bundle.databases.size(), "database", "databases");
  text += ", " + count_of(bundle.http_hosts.size(), "HTTP host", "HTTP hosts");
  text += ", " + count_of(bundle.audit_sinks.size(), "audit sink", "audit sinks");
  text += ", " + count_of(bundle.secrets.size(), "secret", "secrets");
  text += bundle.constitution.empty() ? ", the shipped constitution"
                                      : ", " + count_of(bundle.constitution.size(), "constitution file", "constitution files");
  text += ", KEK custody " + std::string(kek_custody_name(bundle.kek.custody));
  text += bundle.tls ? ", its own TLS certificate" : ", a self-signed TLS certificate";
  text += bundle.dry_run_days == 0 ? ", live at once" : ", dry-run for " + count_of(static_cast<std::size_t>(bundle.dry_run_days), "day", "days");
  return text;
}

} // namespace cordon::provisioning

#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

// The provisioning bundle (docs/provisioning.md): one TOML file that says everything a tenant's
// appliance needs to know. parse_bundle() checks all of it, so that a bundle it accepts can be
// turned into configuration every daemon accepts.
namespace cordon::provisioning {

// A larger bundle is refused before it is parsed.
inline constexpr std::size_t max_bundle_bytes = std::size_t{1} << 20;

enum class KekCustody { tpm, key_file };
std::string_view kek_custody_name(KekCustody custody);

struct KekSettings {
  KekCustody custody = KekCustody::tpm;
  std::vector<unsigned> pcrs; // SHA-256 PCR indexes the KEK is sealed to
};

struct TlsSettings {
  std::string cert_pem;
  std::string key_pem;
};

// How the peers of an HTTPS listener authenticate: [auditors] (auditd, port 8443) and [agents]
// (agentd's MCP endpoint, port 7443).
struct ClientCredentials {
  std::string client_ca_pem;                    // "" when bearer tokens only
  std::vector<std::string> bearer_token_sha256; // lowercase hex
};

struct Approver {
  std::string name;
  std::string email;
  std::vector<std::string> groups;
  std::string totp_secret; // base32 as the bundle gives it, upper case, without padding
};

enum class WebhookType { slack, generic };
std::string_view webhook_type_name(WebhookType type);

struct Webhook {
  WebhookType type = WebhookType::generic;
  std::string url;
  std::string address;
  std::string secret; // generic: the HMAC key; slack: empty
  std::string ca_pem; // the CA the receiver's certificate chains to; "": Debian's system bundle
};

struct Database {
  std::string name;
  std::string dsn;
  std::string address;
  std::optional<std::int64_t> statement_timeout_ms;
  std::optional<std::int64_t> max_rows;
};

struct HttpHost {
  std::string host;
  std::optional<std::int64_t> port;
  std::string address;
  std::optional<std::string> credential;
  std::optional<std::string> credential_header;
  std::optional<std::string> credential_prefix;
  std::string ca_pem; // the CA the host's certificate chains to; "": Debian's system bundle
};

enum class SinkType { postgres, jsonl };
std::string_view sink_type_name(SinkType type);

struct AuditSink {
  SinkType type = SinkType::jsonl;
  std::string dsn;     // postgres
  std::string address; // postgres
  std::string path;    // jsonl
};

struct BundleSecret {
  std::string name;
  std::vector<std::string> tools;
  std::string value;
};

struct ConstitutionFile {
  std::string file; // "10-base.toml"
  std::string text;
};

// A bundle that passed every check. Holds secrets (TOTP seeds, webhook keys, secret values, the
// TLS key); never log it.
struct Bundle {
  std::string tenant;
  std::string public_host;
  std::vector<std::string> san;     // extra certificate names, without public_host
  std::int64_t dry_run_days = 7;
  std::string audit_origin;         // "<tenant>.cordon.local/audit" unless the bundle says
  std::optional<std::string> console_password_sha512;
  KekSettings kek;
  std::optional<TlsSettings> tls;   // absent: a self-signed certificate is made
  ClientCredentials auditors;
  ClientCredentials agents;
  std::vector<Approver> approvers;
  std::vector<Webhook> webhooks;
  std::vector<Database> databases;
  std::vector<HttpHost> http_hosts;
  std::vector<AuditSink> audit_sinks;
  std::vector<BundleSecret> secrets;
  std::vector<ConstitutionFile> constitution; // empty: the shipped default is used
  std::string sha256;                         // hex SHA-256 of the bundle's bytes

  // public_host, then every san entry: the names the certificate must cover.
  std::vector<std::string> certificate_names() const;
};

// Parses and checks a bundle. Every refusal is Errc::invalid_argument, Errc::unknown_field or
// Errc::too_large, with a message that starts with the key at fault ("approvers[1].totp_secret:
// ..."), or with the line and column of malformed TOML. `now` is when a bundle's own TLS
// certificate must be valid. The constitution is checked by approvald's own parser.
Result<Bundle> parse_bundle(std::string_view text, std::chrono::system_clock::time_point now);

// One line for `check`: "tenant acme, 2 approvers, 1 webhook, ...".
std::string describe(const Bundle& bundle);

} // namespace cordon::provisioning

#include "secretsd/vault/vault.h"

#include <algorithm>

#include "common/crypto.h"
#include "common/json.h"

namespace cordon::secretsd {

namespace {

constexpr std::size_t max_value_bytes = 64 << 10;
constexpr std::size_t max_name_bytes = 128;
constexpr std::size_t max_tools = 32;
constexpr std::size_t nonce_bytes = 12;
constexpr std::string_view marker_text = "cordon secretsd KEK marker v1";

constexpr std::string_view schema = R"sql(
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS secrets (
  name TEXT NOT NULL, version INTEGER NOT NULL, tools TEXT NOT NULL, created_at TEXT NOT NULL,
  wrapped_key BLOB NOT NULL, ciphertext BLOB NOT NULL, PRIMARY KEY (name, version));
CREATE TABLE IF NOT EXISTS signing_keys (
  name TEXT PRIMARY KEY, purpose TEXT NOT NULL, public_key BLOB NOT NULL, wrapped_key BLOB NOT NULL,
  sealed_seed BLOB NOT NULL, created_at TEXT NOT NULL);
)sql";

bool valid_name_character(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

Result<void> check_short_name(std::string_view name, std::string_view what) {
  if (name.empty() || name.size() > max_name_bytes || !std::all_of(name.begin(), name.end(), valid_name_character) ||
      name.front() == '.' || name.front() == '-' || name.front() == '_')
    return fail(Errc::invalid_argument, std::string(what) + " must be 1..128 characters of a-z, 0-9, '.', '_', '-', "
                                                            "starting with a letter or digit");
  return ok();
}

Result<void> check_tools(const std::vector<std::string>& tools) {
  if (tools.empty() || tools.size() > max_tools) return fail(Errc::invalid_argument, "a secret's scope (tools) must name 1..32 tools");
  for (const auto& tool : tools) CORDON_TRY_VOID(check_short_name(tool, "a tool name"));
  return ok();
}

Bytes aad(std::string_view label, std::string_view tenant, std::string_view name, std::int64_t version) {
  std::string text(label);
  text.push_back('\0');
  text.append(tenant).push_back('\0');
  text.append(name).push_back('\0');
  text.append(std::to_string(version));
  return Bytes(text.begin(), text.end());
}

// nonce || AES-256-GCM(key, nonce, plaintext, aad)
Result<Bytes> seal(std::span<const std::uint8_t> key, std::span<const std::uint8_t> plaintext, const Bytes& associated) {
  auto nonce = CORDON_TRY(crypto::random_bytes(nonce_bytes));
  auto sealed = CORDON_TRY(crypto::aes256gcm_seal(key, nonce, plaintext, associated));
  nonce.insert(nonce.end(), sealed.begin(), sealed.end());
  return nonce;
}

Result<SecureBytes> open_sealed(std::span<const std::uint8_t> key, std::span<const std::uint8_t> sealed,
                                const Bytes& associated, std::string_view what) {
  if (sealed.size() < nonce_bytes + 16) return fail(Errc::integrity, std::string(what) + " is damaged");
  auto plain = crypto::aes256gcm_open(key, sealed.first(nonce_bytes), sealed.subspan(nonce_bytes), associated);
  if (!plain) return fail(Errc::integrity, std::string(what) + " does not decrypt: it was damaged, moved or sealed under another key");
  auto secure = SecureBytes::copy_of(*plain);
  crypto::wipe(*plain);
  return secure;
}

// Older vaults kept lease expiries in milliseconds.
std::chrono::system_clock::time_point from_millis(std::int64_t millis) {
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(millis));
}

std::vector<std::string> tools_from_text(const std::string& text) {
  std::vector<std::string> tools;
  auto parsed = parse_json(text);
  if (parsed && parsed->is_array())
    for (const auto& tool : *parsed)
      if (tool.is_string()) tools.push_back(tool);
  return tools;
}

} // namespace

Result<std::unique_ptr<Vault>> Vault::open(const std::filesystem::path& path, std::string tenant, SecureBytes kek) {
  if (kek.size() != 32) return fail(Errc::invalid_argument, "the KEK must be 32 bytes");
  CORDON_TRY_VOID(check_short_name(tenant, "the tenant"));
  auto db = CORDON_TRY(Sqlite::open(path));
  CORDON_TRY_VOID(db->execute(schema));
  std::unique_ptr<Vault> vault(new Vault(std::move(db), std::move(tenant), std::move(kek)));
  CORDON_TRY_VOID(vault->check_or_seal_marker());
  return vault;
}

Result<std::optional<std::string>> Vault::shredded_at(const std::filesystem::path& path) {
  std::error_code error;
  if (!std::filesystem::exists(path, error)) return std::optional<std::string>();
  auto db = CORDON_TRY(Sqlite::open(path));
  CORDON_TRY_VOID(db->execute(schema));
  auto query = CORDON_TRY(db->prepare("SELECT value FROM meta WHERE key = 'shredded_at'"));
  if (!CORDON_TRY(query.step())) return std::optional<std::string>();
  return std::optional<std::string>(query.text(0));
}

Result<void> Vault::check_or_seal_marker() {
  auto query = CORDON_TRY(m_db->prepare("SELECT key, value FROM meta WHERE key IN ('tenant', 'kek_marker', 'shredded_at')"));
  std::optional<std::string> tenant;
  std::optional<Bytes> marker;
  while (CORDON_TRY(query.step())) {
    const std::string key = query.text(0);
    if (key == "shredded_at") return fail(Errc::integrity, "the vault was crypto-shredded at " + query.text(1));
    if (key == "tenant") tenant = query.text(1);
    if (key == "kek_marker") marker = Bytes(query.blob(1).begin(), query.blob(1).end());
  }
  if (tenant && *tenant != m_tenant) return fail(Errc::integrity, "the vault belongs to tenant " + *tenant + ", not " + m_tenant);
  const Bytes associated = aad("kek-marker", m_tenant, "", 1);
  if (marker) {
    auto opened = open_sealed(m_kek.span(), *marker, associated, "the vault's KEK marker");
    if (!opened || opened->view() != marker_text)
      return fail(Errc::integrity, "the KEK does not open this vault: it is not the key the vault was created with");
    return ok();
  }
  auto sealed = CORDON_TRY(seal(m_kek.span(), as_bytes(marker_text), associated));
  auto transaction = CORDON_TRY(Transaction::begin(*m_db));
  auto statement_1 = CORDON_TRY(m_db->prepare("INSERT INTO meta (key, value) VALUES ('tenant', ?1)"));
  CORDON_TRY_VOID(statement_1.bind(1, m_tenant).run());
  auto statement_2 = CORDON_TRY(m_db->prepare("INSERT INTO meta (key, value) VALUES ('kek_marker', ?1)"));
  CORDON_TRY_VOID(statement_2.bind(1, std::span<const std::uint8_t>(sealed)).run());
  return transaction.commit();
}

Result<std::string> Vault::full_name(std::string_view short_name) const {
  CORDON_TRY_VOID(check_short_name(short_name, "a secret name"));
  return m_tenant + "/" + std::string(short_name);
}

Result<SecretMetadata> Vault::add_version(const std::string& name, std::int64_t version, std::span<const std::uint8_t> value,
                                          const std::vector<std::string>& tools, std::string_view now) {
  auto data_key = CORDON_TRY(SecureBytes::allocate(32));
  auto random = CORDON_TRY(crypto::random_bytes(32));
  std::copy(random.begin(), random.end(), data_key.data());
  crypto::wipe(random);
  const auto wrapped = CORDON_TRY(seal(m_kek.span(), data_key.span(), aad("data-key", m_tenant, name, version)));
  const auto ciphertext = CORDON_TRY(seal(data_key.span(), value, aad("secret", m_tenant, name, version)));
  const std::string tools_text = Json(tools).dump();
  auto insert = CORDON_TRY(m_db->prepare(
      "INSERT INTO secrets (name, version, tools, created_at, wrapped_key, ciphertext) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"));
  CORDON_TRY_VOID(insert.bind(1, name).bind(2, version).bind(3, tools_text).bind(4, now)
                      .bind(5, std::span<const std::uint8_t>(wrapped)).bind(6, std::span<const std::uint8_t>(ciphertext)).run());
  return SecretMetadata{name, version, tools, std::string(now)};
}

Result<SecretMetadata> Vault::current_metadata(const std::string& name) const {
  auto query = CORDON_TRY(m_db->prepare(
      "SELECT version, tools, created_at FROM secrets WHERE name = ?1 ORDER BY version DESC LIMIT 1"));
  query.bind(1, name);
  if (!CORDON_TRY(query.step())) return fail(Errc::not_found, "no secret named " + name);
  return SecretMetadata{name, query.integer(0), tools_from_text(query.text(1)), query.text(2)};
}

Result<SecretMetadata> Vault::put(std::string_view short_name, std::span<const std::uint8_t> value,
                                  const std::vector<std::string>& tools, std::string_view now,
                                  const BeforeCommit& before_commit) {
  const std::string name = CORDON_TRY(full_name(short_name));
  if (value.empty() || value.size() > max_value_bytes) return fail(Errc::invalid_argument, "a secret value must be 1..65536 bytes");
  CORDON_TRY_VOID(check_tools(tools));
  std::lock_guard lock(m_mutex);
  auto transaction = CORDON_TRY(Transaction::begin(*m_db));
  if (current_metadata(name)) return fail(Errc::conflict, "a secret named " + name + " exists; rotate it instead");
  auto metadata = CORDON_TRY(add_version(name, 1, value, tools, now));
  if (before_commit) CORDON_TRY_VOID(before_commit(metadata));
  CORDON_TRY_VOID(transaction.commit());
  return metadata;
}

Result<SecretMetadata> Vault::rotate(std::string_view short_name, std::span<const std::uint8_t> value,
                                     const std::optional<std::vector<std::string>>& tools, std::string_view now,
                                     const BeforeCommit& before_commit) {
  const std::string name = CORDON_TRY(full_name(short_name));
  if (value.empty() || value.size() > max_value_bytes) return fail(Errc::invalid_argument, "a secret value must be 1..65536 bytes");
  if (tools) CORDON_TRY_VOID(check_tools(*tools));
  std::lock_guard lock(m_mutex);
  auto transaction = CORDON_TRY(Transaction::begin(*m_db));
  const auto current = CORDON_TRY(current_metadata(name));
  auto metadata = CORDON_TRY(add_version(name, current.version + 1, value, tools ? *tools : current.tools, now));
  if (before_commit) CORDON_TRY_VOID(before_commit(metadata));
  CORDON_TRY_VOID(transaction.commit());
  return metadata;
}

Result<void> Vault::remove(std::string_view short_name, const BeforeCommit& before_commit) {
  const std::string name = CORDON_TRY(full_name(short_name));
  std::lock_guard lock(m_mutex);
  auto transaction = CORDON_TRY(Transaction::begin(*m_db));
  const auto current = CORDON_TRY(current_metadata(name));
  auto statement = CORDON_TRY(m_db->prepare("DELETE FROM secrets WHERE name = ?1"));
  CORDON_TRY_VOID(statement.bind(1, name).run());
  if (before_commit) CORDON_TRY_VOID(before_commit(current));
  return transaction.commit();
}

Result<std::vector<SecretMetadata>> Vault::list() const {
  std::lock_guard lock(m_mutex);
  auto query = CORDON_TRY(m_db->prepare(
      "SELECT name, MAX(version), tools, created_at FROM secrets GROUP BY name ORDER BY name"));
  std::vector<SecretMetadata> out;
  while (CORDON_TRY(query.step())) {
    out.push_back(SecretMetadata{query.text(0), query.integer(1), tools_from_text(query.text(2)), query.text(3)});
  }
  return out;
}

Result<SecretMetadata> Vault::metadata(std::string_view short_name) const {
  const std::string name = CORDON_TRY(full_name(short_name));
  std::lock_guard lock(m_mutex);
  return current_metadata(name);
}

Result<SecureBytes> Vault::value(std::string_view short_name) const {
  const std::string name = CORDON_TRY(full_name(short_name));
  std::lock_guard lock(m_mutex);
  auto query = CORDON_TRY(m_db->prepare(
      "SELECT version, wrapped_key, ciphertext FROM secrets WHERE name = ?1 ORDER BY version DESC LIMIT 1"));
  query.bind(1, name);
  if (!CORDON_TRY(query.step())) return fail(Errc::not_found, "no secret named " + name);
  const std::int64_t version = query.integer(0);
  auto data_key = CORDON_TRY(open_sealed(m_kek.span(), query.blob(1), aad("data-key", m_tenant, name, version),
                                         "the data key of " + name));
  return open_sealed(data_key.span(), query.blob(2), aad("secret", m_tenant, name, version), "the value of " + name);
}

Result<void> Vault::store_signing_key(const SigningKeyRecord& key, std::string_view now,
                                      const std::function<Result<void>()>& before_commit) {
  CORDON_TRY_VOID(check_short_name(key.name, "a key name"));
  auto data_key = CORDON_TRY(SecureBytes::allocate(32));
  auto random = CORDON_TRY(crypto::random_bytes(32));
  std::copy(random.begin(), random.end(), data_key.data());
  crypto::wipe(random);
  const auto wrapped = CORDON_TRY(seal(m_kek.span(), data_key.span(), aad("signing-data-key", m_tenant, key.name, 1)));
  const auto sealed = CORDON_TRY(seal(data_key.span(), key.seed.span(), aad("signing-key", m_tenant, key.name, 1)));
  std::lock_guard lock(m_mutex);
  auto transaction = CORDON_TRY(Transaction::begin(*m_db));
  auto insert = CORDON_TRY(m_db->prepare(
      "INSERT INTO signing_keys (name, purpose, public_key, wrapped_key, sealed_seed, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"));
  CORDON_TRY_VOID(insert.bind(1, key.name).bind(2, key.purpose).bind(3, std::span<const std::uint8_t>(key.public_key))
                      .bind(4, std::span<const std::uint8_t>(wrapped)).bind(5, std::span<const std::uint8_t>(sealed)).bind(6, now).run());
  if (before_commit) CORDON_TRY_VOID(before_commit());
  return transaction.commit();
}

Result<std::vector<SigningKeyRecord>> Vault::signing_keys() const {
  std::lock_guard lock(m_mutex);
  auto query = CORDON_TRY(m_db->prepare("SELECT name, purpose, public_key, wrapped_key, sealed_seed FROM signing_keys ORDER BY name"));
  std::vector<SigningKeyRecord> out;
  while (CORDON_TRY(query.step())) {
    SigningKeyRecord key;
    key.name = query.text(0);
    key.purpose = query.text(1);
    key.public_key.assign(query.blob(2).begin(), query.blob(2).end());
    auto data_key = CORDON_TRY(open_sealed(m_kek.span(), query.blob(3), aad("signing-data-key", m_tenant, key.name, 1),
                                           "the data key of signing key " + key.name));
    key.seed = CORDON_TRY(open_sealed(data_key.span(), query.blob(4), aad("signing-key", m_tenant, key.name, 1),
                                      "signing key " + key.name));
    out.push_back(std::move(key));
  }
  return out;
}

Result<Vault::LegacyLeaseState> Vault::legacy_lease_state() const {
  std::lock_guard lock(m_mutex);
  LegacyLeaseState state;
  auto tables = CORDON_TRY(m_db->prepare(
      "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('spent_nonces', 'leases')"));
  if (!CORDON_TRY(tables.step()) || tables.integer(0) != 2) return state;
  auto nonces = CORDON_TRY(m_db->prepare("SELECT nonce, forget_after FROM spent_nonces ORDER BY forget_after"));
  while (CORDON_TRY(nonces.step())) {
    state.nonces.emplace_back(nonces.text(0), std::chrono::system_clock::time_point(std::chrono::seconds(nonces.integer(1))));
  }
  auto leases = CORDON_TRY(m_db->prepare("SELECT id, secret, version, decision_id, run_id, expires_at FROM leases"));
  while (CORDON_TRY(leases.step())) {
    state.leases.push_back(Lease{leases.text(0), leases.text(1), leases.integer(2), leases.text(3), leases.text(4),
                                 from_millis(leases.integer(5))});
  }
  state.present = true;
  return state;
}

Result<void> Vault::drop_legacy_lease_state() {
  std::lock_guard lock(m_mutex);
  return m_db->execute("DROP TABLE IF EXISTS spent_nonces; DROP TABLE IF EXISTS leases;");
}

Result<void> Vault::destroy_contents(std::string_view now) {
  std::lock_guard lock(m_mutex);
  {
    auto transaction = CORDON_TRY(Transaction::begin(*m_db));
    CORDON_TRY_VOID(m_db->execute("DELETE FROM secrets; DELETE FROM signing_keys; "
                                  "DELETE FROM meta WHERE key = 'kek_marker';"));
    auto statement_4 = CORDON_TRY(m_db->prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('shredded_at', ?1)"));
  CORDON_TRY_VOID(statement_4.bind(1, now).run());
    CORDON_TRY_VOID(transaction.commit());
  }
  CORDON_TRY_VOID(m_db->execute("PRAGMA wal_checkpoint(TRUNCATE); VACUUM; PRAGMA wal_checkpoint(TRUNCATE);"));
  return ok();
}

} // namespace cordon::secretsd

#include "secretsd/custodian.h"

#include "auditd/ledger/checkpoint.h"
#include "common/crypto.h"
#include "common/decision/decision_packet.h"
#include "common/encoding.h"
#include "common/log.h"
#include "common/totp.h"

namespace cordon::secretsd {

namespace {

constexpr std::string_view decision_key = "decision";
constexpr std::string_view checkpoint_key = "checkpoint";
// One per request secretsd serves at once (its io threads), so that no signature waits for
// another's record.
constexpr unsigned side_threads = 4;

Result<Bytes> base64_member(const Json& body, const char* name) {
  const auto found = body.find(name);
  if (found == body.end() || !found->is_string()) return fail(Errc::invalid_argument, std::string(name) + " must be a base64 string");
  auto bytes = from_base64(found->get_ref<const std::string&>());
  if (!bytes) return fail(Errc::invalid_argument, std::string(name) + " is not valid base64");
  return bytes;
}

Result<std::optional<std::vector<std::string>>> tools_member(const Json& body) {
  const auto found = body.find("tools");
  if (found == body.end()) return std::optional<std::vector<std::string>>();
  if (!found->is_array()) return fail(Errc::invalid_argument, "tools must be an array of tool names");
  std::vector<std::string> tools;
  for (const auto& tool : *found) {
    if (!tool.is_string()) return fail(Errc::invalid_argument, "tools must be an array of tool names");
    tools.push_back(tool);
  }
  return std::optional<std::vector<std::string>>(std::move(tools));
}

Json metadata_json(const SecretMetadata& metadata) {
  return {{"name", metadata.name}, {"version", metadata.version}, {"tools", metadata.tools}, {"created_at", metadata.created_at}};
}

Result<std::string> random_id(std::string_view prefix) {
  auto bytes = CORDON_TRY(crypto::random_bytes(16));
  return std::string(prefix) + to_hex(bytes);
}

} // namespace

Custodian::Custodian(Parts parts)
    : m_config(parts.config), m_audit(parts.audit), m_clock(parts.clock), m_custody(std::move(parts.custody)),
      m_vault(std::move(parts.vault)), m_keys(std::move(parts.keys)), m_leases(std::move(parts.leases)), m_shredded_at(std::move(parts.shredded_at)),
      m_side(side_threads) {
  auto probe = SecureBytes::allocate(1);
  m_memory_locked = probe && probe->locked();
}

std::string Custodian::now_text() const { return format_rfc3339_micros(m_clock.now()); }

namespace {

// A member's text for a refusal's event, when the body gives it as a string; empty otherwise.
std::string text_or_empty(const Json& body, const char* key) {
  const auto member = body.find(key);
  return member != body.end() && member->is_string() ? member->get<std::string>() : std::string();
}

} // namespace

Result<AuditAck> Custodian::record(const ipc::Peer& caller, std::string kind, Json data) {
  data["caller"] = caller.principal;
  AuditEvent event;
  event.kind = std::move(kind);
  event.actor_id = "secretsd";
  event.data = std::move(data);
  return m_audit.record(event);
}

void Custodian::record_refusal(const ipc::Peer& caller, std::string kind, const Error& error, Json data) {
  data["reason"] = error.message;
  data["code"] = std::string(errc_name(error.code));
  auto recorded = record(caller, kind, std::move(data));
  if (!recorded) log::warn("a refusal was not recorded", {{"kind", kind}, {"error", recorded.error().message}});
}

Result<void> Custodian::require_live() const {
  if (m_shredded_at) return fail(Errc::conflict, "the vault was crypto-shredded at " + *m_shredded_at + "; nothing in it can be read");
  return ok();
}

Result<void> Custodian::ensure_keys() {
  std::unique_lock lock(m_state_mutex);
  if (m_shredded_at) return ok();
  if (!m_keys->find(decision_key)) {
    auto info = CORDON_TRY(m_keys->generate(*m_vault, decision_key, KeyPurpose::decision, now_text()));
    log::info("generated the decision key", {{"key_id", decision::decision_key_id(info.public_key)}});
  }
  return ok();
}

Json Custodian::status() const {
  std::shared_lock lock(m_state_mutex);
  Json out = {{"tenant", m_config.tenant},
              {"state", m_shredded_at ? "shredded" : "ready"},
              {"kek_custody", std::string(kek_custody_name(m_custody->kind()))},
              {"kek", m_custody->describe()},
              {"memory_locked", m_memory_locked}};
  if (m_shredded_at) {
    out["shredded_at"] = *m_shredded_at;
    return out;
  }
  auto secrets = m_vault->list();
  out["secrets"] = secrets ? Json(secrets->size()) : Json();
  Json keys = Json::array();
  for (const auto& key : m_keys->list()) keys.push_back(key.name);
  out["keys"] = keys;
  return out;
}

Result<Json> Custodian::list_secrets(const ipc::Peer&) const {
  std::shared_lock lock(m_state_mutex);
  CORDON_TRY_VOID(require_live());
  Json out = Json::array();
  for (const auto& metadata : CORDON_TRY(m_vault->list())) out.push_back(metadata_json(metadata));
  return Json{{"secrets", out}};
}

Result<Json> Custodian::put_secret(const ipc::Peer& caller, std::string_view name, const Json& body) {
  std::shared_lock lock(m_state_mutex);
  CORDON_TRY_VOID(require_live());
  auto value = CORDON_TRY(base64_member(body, "value_base64"));
  const auto tools = CORDON_TRY(tools_member(body));
  if (!tools) return fail(Errc::invalid_argument, "tools (the secret's scope) is required");
  auto stored = m_vault->put(name, value, *tools, now_text(), [&](const SecretMetadata& metadata) -> Result<void> {
    CORDON_TRY_VOID(record(caller, "secret.put", metadata_json(metadata)));
    return ok();
  });
  crypto::wipe(value);
  if (!stored) return tl::unexpected(stored.error());
  return metadata_json(*stored);
}

Result<Json> Custodian::rotate_secret(const ipc::Peer& caller, std::string_view name, const Json& body) {
  std::shared_lock lock(m_state_mutex);
  CORDON_TRY_VOID(require_live());
  auto value = CORDON_TRY(base64_member(body, "value_base64"));
  const auto tools = CORDON_TRY(tools_member(body));
  auto stored = m_vault->rotate(name, value, tools, now_text(), [&](const SecretMetadata& metadata) -> Result<void> {
    CORDON_TRY_VOID(record(caller, "secret.rotated", metadata_json(metadata)));
    return ok();
  });
  crypto::wipe(value);
  if (!stored) return tl::unexpected(stored.error());
  return metadata_json(*stored);
}

Result<Json> Custodian::delete_secret(const ipc::Peer& caller, std::string_view name) {
  std::shared_lock lock(m_state_mutex);
  CORDON_TRY_VOID(require_live());
  const auto audit = [&](const SecretMetadata& metadata) -> Result<void> {
    CORDON_TRY_VOID(record(caller, "secret.deleted", {{"name", metadata.name}, {"versions", metadata.version}}));
    return ok();
  };
  CORDON_TRY_VOID(m_vault->remove(name, audit));
  return Json{{"deleted", CORDON_TRY(m_vault->full_name(name))}};
}

Result<Json> Custodian::list_keys() const {
  std::shared_lock lock(m_state_mutex);
  CORDON_TRY_VOID(require_live());
  Json out = Json::array();
  for (const auto& key : m_keys->list()) {
    Json item = {{"name", key.name}, {"purpose", std::string(key_purpose_name(key.purpose))},
                 {"public_key", to_base64(key.public_key)}, {"key_id", decision::decision_key_id(key.public_key)}};
    if (key.purpose == KeyPurpose::checkpoint) {
      auto verifier = ledger::NoteVerifierKey::from_public_key(m_config.checkpoint_origin, key.public_key);
      if (verifier) item["verifier_key"] = verifier->to_string();
    }
    out.push_back(std::move(item));
  }
  return Json{{"keys", out}};
}

Result<Json> Custodian::create_checkpoint_key(const ipc::Peer& caller, const Json& body) {
  std::shared_lock lock(m_state_mutex);
  CORDON_TRY_VOID(require_live());
  const auto refuse = [&](const Error& error) {
    record_refusal(caller, "key.refused", error, {{"key", checkpoint_key}});
    return tl::unexpected(error);
  };
  if (auto known = require_known_fields(body, {"seed_base64"}); !known) return refuse(known.error());
  const bool imported = body.contains("seed_base64");
  // Recorded before the key is committed: a checkpoint key the ledger does not know of is never
  // kept (auditd asks again later, and keeps its key file until then).
  std::string verifier_text;
  const auto recording = [&](const PublicKeyInfo& key) -> Result<void> {
    auto verifier = CORDON_TRY(ledger::NoteVerifierKey::from_public_key(m_config.checkpoint_origin, key.public_key));
    verifier_text = verifier.to_string();
    CORDON_TRY(record(caller, imported ? "key.imported" : "key.generated", {{"key", checkpoint_key}, {"verifier_key", verifier_text}}));
    return ok();
  };
  Result<PublicKeyInfo> created = fail(Errc::internal, "unset");
  if (imported) {
    auto decoded = base64_member(body, "seed_base64");
    if (!decoded) return refuse(decoded.error());
    auto seed = std::move(*decoded);
    created = m_keys->import(*m_vault, checkpoint_key, KeyPurpose::checkpoint, seed, now_text(), recording);
    crypto::wipe(seed);
  } else {
    created = m_keys->generate(*m_vault, checkpoint_key, KeyPurpose::checkpoint, now_text(), recording);
  }
  if (!created) return refuse(created.error());
  return Json{{"name", checkpoint_key}, {"purpose", "checkpoint"}, {"public_key", to_base64(created->public_key)},
              {"verifier_key", verifier_text}};
}

Result<Json> Custodian::create_customer_key(const ipc::Peer& caller, const Json& body) {
  std::shared_lock lock(m_state_mutex);
  CORDON_TRY_VOID(require_live());
  CORDON_TRY_VOID(require_known_fields(body, {"name", "purpose"}));
  if (body.value("purpose", "") != "customer")
    return fail(Errc::invalid_argument, "only customer keys are created here (purpose \"customer\")");
  if (!body.contains("name") || !body["name"].is_string()) return fail(Errc::invalid_argument, "name must be a key name");
  const std::string name = body["name"];
  if (name == decision_key || name == checkpoint_key) return fail(Errc::conflict, "the key name " + name + " is reserved");
  // Recorded before the key is committed: a key the ledger does not know of is never kept.
  auto created = m_keys->generate(*m_vault, name, KeyPurpose::customer, now_text(), [&](const PublicKeyInfo& key) -> Result<void> {
    CORDON_TRY(record(caller, "key.generated", {{"key", name}, {"purpose", "customer"}, {"public_key", to_base64(key.public_key)}}));
    return ok();
  });
  if (!created) return tl::unexpected(created.error());
  return Json{{"name", name}, {"purpose", "customer"}, {"public_key", to_base64(created->public_key)},
              {"key_id", decision::decision_key_id(created->public_key)}};
}

Result<decision::Decision> Custodian::allowed_decision(const Json& packet, const Json& action, std::string& refusal_kind) const {
  refusal_kind = "refused";
  auto digest = decision::action_digest(m_config.tenant, action);
  if (!digest) return tl::unexpected(digest.error());
  const auto decision_info = m_keys->find(decision_key);
  if (!decision_info) return tl::unexpected(decision_info.error());
  decision::PacketExpectations expected{m_config.tenant, *digest, decision_info->public_key, m_clock.now()};
  auto verified = decision::verify_decision_packet(packet, expected);
  if (!verified) {
    if (verified.error().rejection == decision::Rejection::signature) refusal_kind = "signature_rejected";
    return tl::unexpected(verified.error().error);
  }
  if (verified->verdict != "allow")
    return fail(Errc::permission_denied, "the decision's verdict is " + verified->verdict + ", not allow");
  if (verified->mode != "live") return fail(Errc::permission_denied, "a dry-run decision gets no credentials or signatures");
  return std::move(*verified);
}

Result<void> Custodian::check_sign_purpose(const ipc::Peer& caller, const PublicKeyInfo& key, std::string_view message,
                                           const Json& body) {
  switch (key.purpose) {
  case KeyPurpose::decision: {
    if (!caller.has_role("approvald")) return fail(Errc::permission_denied, "only approvald may use the decision key");
    auto parsed = parse_json(message);
    if (!parsed) return fail(Errc::invalid_argument, "the decision key signs only decisions: the message is not JSON");
    auto canonical = decision::decision_signing_bytes(*parsed);
    if (!canonical || *canonical != message) return fail(Errc::invalid_argument, "the decision key signs only canonical (JCS) decisions");
    auto decision = decision::parse_decision(*parsed);
    if (!decision) return fail(Errc::invalid_argument, "the decision key signs only decisions: " + decision.error().message);
    if (decision->tenant != m_config.tenant) return fail(Errc::permission_denied, "the decision is for another tenant");
    return ok();
  }
  case KeyPurpose::checkpoint: {
    if (!caller.has_role("auditd")) return fail(Errc::permission_denied, "only auditd may use the checkpoint key");
    auto checkpoint = ledger::parse_checkpoint(message);
    if (!checkpoint) return fail(Errc::invalid_argument, "the checkpoint key signs only checkpoints: " + checkpoint.error().message);
    if (checkpoint->origin != m_config.checkpoint_origin)
      return fail(Errc::permission_denied, "the checkpoint is for another origin than " + m_config.checkpoint_origin);
    return ok();
  }
  case KeyPurpose::customer: {
    // The decided action is {"tool": "crypto.sign", "arguments": {"key", "message_sha256"}}: the
    // approval names this key and these exact bytes.
    if (!caller.has_role("agentd")) return fail(Errc::permission_denied, "customer keys sign for agentd only, with a decision");
    if (!body.contains("packet") || !body.contains("action"))
      return fail(Errc::permission_denied, "a customer key signs only with a decision packet and its action");
    const Json& action = body["action"];
    const Json expected_arguments = {{"key", key.name}, {"message_sha256", to_hex(crypto::sha256(message))}};
    if (!action.is_object() || action.value("tool", "") != "crypto.sign" || !action.contains("arguments") ||
        action["arguments"] != expected_arguments)
      return fail(Errc::permission_denied, "the decided action is not crypto.sign of this message with key " + key.name);
    std::string kind;
    auto allowed = allowed_decision(body["packet"], action, kind);
    if (!allowed) return tl::unexpected(allowed.error());
    return m_leases->spend_nonce(allowed->nonce, allowed->expires_at);
  }
  }
  return fail(Errc::internal, "unknown key purpose");
}

Result<Json> Custodian::sign(const ipc::Peer& caller, const Json& body) {
  std::shared_lock lock(m_state_mutex);
  CORDON_TRY_VOID(require_live());
  const std::string name = text_or_empty(body, "key");
  // A request that names no usable key or message is refused before any key is touched; each
  // such refusal is recorded too.
  const auto refuse = [&](const Error& error) {
    record_refusal(caller, "sign.refused", error, {{"key", name}});
    return tl::unexpected(error);
  };
  if (auto known = require_known_fields(body, {"key", "message_base64", "packet", "action"}); !known)
    return refuse(known.error());
  if (const auto member = body.find("key"); member == body.end() || !member->is_string())
    return refuse(Error{Errc::invalid_argument, "key must be a key name"});
  auto decoded = base64_member(body, "message_base64");
  if (!decoded) return refuse(decoded.error());
  const auto message = std::move(*decoded);
  const std::string_view message_text(reinterpret_cast<const char*>(message.data()), message.size());
  auto key = m_keys->find(name);
  if (!key) return refuse(key.error());
  if (auto purpose = check_sign_purpose(caller, *key, message_text, body); !purpose) {
    record_refusal(caller, "sign.refused", purpose.error(), {{"key", name}, {"message_sha256", to_hex(crypto::sha256(message))}});
    return tl::unexpected(purpose.error());
  }
  // The signature is computed while its key.signed is made durable, and released only once it
  // is: a signature the ledger did not take is dropped here, never answered.
  std::future<Result<AuditAck>> recording;
  if (key->purpose != KeyPurpose::checkpoint) {
    recording = m_side.run([&] { return record(caller, "key.signed", {{"key", name}, {"message_sha256", to_hex(crypto::sha256(message))}}); });
  }
  auto signed_message = m_keys->sign(name, message);
  if (recording.valid()) CORDON_TRY(recording.get());
  const auto signature = CORDON_TRY(std::move(signed_message));
  return Json{{"key", name}, {"key_id", decision::decision_key_id(key->public_key)}, {"signature", to_base64(signature)}};
}

Result<Json> Custodian::issue_lease(const ipc::Peer& caller, const Json& body) {
  std::shared_lock lock(m_state_mutex);
  CORDON_TRY_VOID(require_live());
  const std::string secret = text_or_empty(body, "secret");
  const std::string run_id = text_or_empty(body, "run_id");
  // Every refusal of a lease request is recorded, a malformed one included.
  const auto refuse = [&](std::string kind, const Error& error) {
    record_refusal(caller, std::move(kind), error, {{"secret", secret}, {"run_id", run_id}});
    return tl::unexpected(error);
  };
  if (auto known = require_known_fields(body, {"packet", "action", "secret", "run_id"}); !known)
    return refuse("lease.refused", known.error());
  if (const auto member = body.find("secret"); member == body.end() || !member->is_string())
    return refuse("lease.refused", Error{Errc::invalid_argument, "secret must be a secret name"});
  if (const auto run = body.find("run_id"); run != body.end() && !run->is_string())
    return refuse("lease.refused", Error{Errc::invalid_argument, "run_id must be a string"});
  if (!body.contains("packet") || !body.contains("action"))
    return refuse("lease.refused", Error{Errc::invalid_argument, "a lease needs a decision packet and its action"});

  std::string refusal_kind;
  auto verified = allowed_decision(body["packet"], body["action"], refusal_kind);
  if (!verified) return refuse("lease." + refusal_kind, verified.error());
  const std::string tool = body["action"]["tool"];
  auto metadata = m_vault->metadata(secret);
  if (!metadata) return refuse("lease.refused", metadata.error());
  if (std::find(metadata->tools.begin(), metadata->tools.end(), tool) == metadata->tools.end())
    return refuse("lease.refused", Error{Errc::permission_denied, "secret " + metadata->name + " is not in the scope of tool " + tool});
  auto value = m_vault->value(secret);
  if (!value) return refuse("lease.refused", value.error());
  const auto expires_at = m_clock.now() + m_config.lease_ttl;
  Lease lease{CORDON_TRY(random_id("l-")), metadata->name, metadata->version, verified->id, run_id, expires_at};
  // The nonce is spent (durably, with the lease) before the ledger hears of the lease, so a
  // packet can never be used twice; if the ledger then refuses, the lease is closed again and the
  // value withheld: the packet stays spent, and the caller must ask for a new decision.
  if (auto spent = m_leases->spend_nonce_and_open(verified->nonce, verified->expires_at, lease); !spent)
    return refuse("lease.refused", spent.error());
  auto recorded = record(caller, "lease.issued",
                         {{"lease_id", lease.id}, {"secret", lease.secret}, {"version", lease.version},
                          {"decision_id", lease.decision_id}, {"tool", tool}, {"run_id", run_id},
                          {"expires_at", format_rfc3339_micros(expires_at)}});
  if (!recorded) {
    (void)m_leases->close(lease.id);
    return tl::unexpected(recorded.error());
  }
  return Json{{"lease_id", lease.id}, {"secret", lease.secret}, {"version", lease.version},
              {"value_base64", to_base64(value->span())}, {"ttl_s", m_config.lease_ttl.count()},
              {"expires_at", format_rfc3339_micros(expires_at)}};
}

Result<Json> Custodian::release_lease(const ipc::Peer& caller, std::string_view id) {
  std::shared_lock lock(m_state_mutex);
  CORDON_TRY_VOID(require_live());
  auto lease = m_leases->close(id);
  if (!lease) return tl::unexpected(lease.error());
  auto recorded = record(caller, "lease.released", {{"lease_id", lease->id}, {"secret", lease->secret}, {"run_id", lease->run_id}});
  if (!recorded) log::warn("a lease release was not recorded", {{"lease_id", lease->id}, {"error", recorded.error().message}});
  return Json{{"released", lease->id}};
}

void Custodian::expire_leases() {
  std::shared_lock lock(m_state_mutex);
  if (m_shredded_at) return;
  const auto now = m_clock.now();
  const auto leases = m_leases->expired(now);
  ipc::Peer self;
  self.principal = "secretsd";
  for (const auto& lease : leases) {
    if (lease.expires_at > now) break;
    // Recorded first, closed after: a lease whose expiry the ledger did not take stays open and
    // is tried again next time, so no expiry goes unrecorded.
    auto recorded = record(self, "lease.expired", {{"lease_id", lease.id}, {"secret", lease.secret}, {"run_id", lease.run_id}});
    if (!recorded) return;
    (void)m_leases->close(lease.id);
  }
}

Result<Json> Custodian::verify_totp(const ipc::Peer& caller, const Json& body) {
  std::shared_lock lock(m_state_mutex);
  CORDON_TRY_VOID(require_live());
  const std::string approver = text_or_empty(body, "approver");
  const std::string code = text_or_empty(body, "code");
  const std::string context = text_or_empty(body, "context");
  const auto refuse = [&](const Error& error) {
    record_refusal(caller, "totp.refused", error, {{"approver", approver}, {"context", context}});
    return tl::unexpected(error);
  };
  if (auto known = require_known_fields(body, {"approver", "code", "context"}); !known) return refuse(known.error());
  const auto check_text = [&](const char* key, const std::string& value, std::size_t max) -> Result<void> {
    const auto member = body.find(key);
    if (member == body.end() || !member->is_string() || value.empty() || value.size() > max)
      return fail(Errc::invalid_argument, std::string(key) + " must be a string of 1.." + std::to_string(max) + " bytes");
    return ok();
  };
  if (auto checked = check_text("approver", approver, 64); !checked) return refuse(checked.error());
  if (approver.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789._-") != std::string::npos)
    return refuse(Error{Errc::invalid_argument, "approver must be of [a-z0-9._-]"});
  if (auto checked = check_text("code", code, 16); !checked) return refuse(checked.error());
  if (auto checked = check_text("context", context, 256); !checked) return refuse(checked.error());
  if (!caller.has_role("approvald")) return refuse(Error{Errc::permission_denied, "only approvald checks second factors"});
  const std::string secret = "totp." + approver;
  auto metadata = m_vault->metadata(secret);
  if (!metadata) return refuse(Error{Errc::permission_denied, "no second factor is enrolled for " + approver});
  if (std::find(metadata->tools.begin(), metadata->tools.end(), "approval.totp") == metadata->tools.end())
    return refuse(Error{Errc::permission_denied, metadata->name + " is not a second factor (scope approval.totp)"});
  auto value = m_vault->value(secret);
  if (!value) return refuse(value.error());
  const auto now = m_clock.now();
  const auto step = totp::matching_step(value->span(), code, now);
  if (!step) return refuse(Error{Errc::permission_denied, "the code for " + approver + " is wrong or expired"});
  const auto forget_after = now + 4 * totp::step_length;
  if (auto spent = m_leases->spend_nonce("totp:" + approver + ":" + std::to_string(*step), forget_after); !spent)
    return refuse(Error{Errc::permission_denied, "the code for " + approver + " was used before"});
  (void)m_leases->spend_nonce("totp:" + approver + ":" + std::to_string(*step - 1), forget_after); // may be spent already
  CORDON_TRY(record(caller, "totp.verified", {{"approver", approver}, {"context", context}, {"step", *step}}));
  return Json{{"approver", approver}, {"verified", true}, {"step", *step}};
}

Result<Json> Custodian::shred(const ipc::Peer& caller, const Json& body) {
  std::unique_lock lock(m_state_mutex);
  CORDON_TRY_VOID(require_live());
  const auto confirm = body.find("confirm_tenant");
  if (confirm == body.end() || !confirm->is_string() || *confirm != m_config.tenant)
    return fail(Errc::invalid_argument, "shred needs confirm_tenant set to this tenant's id");
  const std::string now = now_text();
  CORDON_TRY(record(caller, "vault.shred_started", {{"kek", m_custody->describe()}}));
  CORDON_TRY_VOID(m_custody->shred());
  CORDON_TRY_VOID(m_vault->destroy_contents(now));
  CORDON_TRY_VOID(m_leases->close_all());
  m_keys.reset();
  m_leases.reset();
  m_vault.reset();
  m_shredded_at = now;
  auto recorded = record(caller, "vault.shredded", {{"kek", m_custody->describe()}});
  if (!recorded) log::warn("the shred was not recorded", {{"error", recorded.error().message}});
  log::warn("the vault was crypto-shredded");
  return Json{{"state", "shredded"}, {"shredded_at", now}};
}

} // namespace cordon::secretsd

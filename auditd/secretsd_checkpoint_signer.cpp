#include "auditd/secretsd_checkpoint_signer.h"

#include <cstring>

#include "common/crypto.h"
#include "common/encoding.h"
#include "common/files.h"
#include "common/ipc/unix_client.h"
#include "common/json.h"
#include "common/log.h"
#include "common/secret_file.h"

namespace cordon::auditd {

namespace {

constexpr std::string_view key_name = "checkpoint";

ipc::ClientOptions client_options() {
  ipc::ClientOptions options;
  options.timeout = std::chrono::milliseconds(3'000);
  options.max_response_bytes = 64 << 10;
  return options;
}

Result<Json> call(const std::string& socket, ipc::Method method, const std::string& target, const std::string& body,
                  int expected) {
  ipc::UnixClient client(socket, client_options());
  auto response = client.request(method, target, body, body.empty() ? "" : "application/json");
  if (!response) return fail(Errc::unavailable, "secretsd cannot be reached: " + response.error().message);
  if (response->status != expected) {
    Error error = ipc::error_from_response(*response);
    error.message = "secretsd answered " + target + ": " + error.message;
    return tl::unexpected(std::move(error));
  }
  return parse_json(response->body);
}

Result<ledger::Ed25519PublicKey> public_key_of(const Json& key) {
  if (!key.is_object() || !key.contains("public_key") || !key["public_key"].is_string())
    return fail(Errc::integrity, "secretsd described its checkpoint key without a public key");
  auto bytes = CORDON_TRY(from_base64(key["public_key"].get<std::string>()));
  if (bytes.size() != 32) return fail(Errc::integrity, "secretsd's checkpoint public key is not 32 bytes");
  ledger::Ed25519PublicKey out{};
  std::memcpy(out.data(), bytes.data(), 32);
  return out;
}

} // namespace

SecretsdCheckpointSigner::SecretsdCheckpointSigner(std::string socket, std::string name,
                                                   std::filesystem::path legacy_key_file)
    : m_socket(std::move(socket)), m_name(std::move(name)), m_legacy_key_file(std::move(legacy_key_file)) {}

SecretsdCheckpointSigner::~SecretsdCheckpointSigner() = default;

Result<ledger::Ed25519PublicKey> SecretsdCheckpointSigner::resolve() const {
  const auto keys = CORDON_TRY(call(m_socket, ipc::Method::get, "/v1/keys", "", 200));
  std::optional<ledger::Ed25519PublicKey> held;
  for (const auto& key : keys.value("keys", Json::array())) {
    if (key.value("name", "") == key_name) held = CORDON_TRY(public_key_of(key));
  }
  std::error_code error;
  const bool have_file = std::filesystem::exists(m_legacy_key_file, error);
  std::optional<crypto::Ed25519KeyPair> legacy;
  if (have_file) {
    auto seed = CORDON_TRY(load_or_create_secret_file(m_legacy_key_file, 32));
    auto pair = crypto::ed25519_from_seed(seed);
    crypto::wipe(seed);
    if (!pair) return tl::unexpected(pair.error());
    legacy = *pair;
  }
  const auto forget_legacy = [&]() -> Result<void> {
    if (legacy) crypto::wipe(legacy->seed);
    if (have_file) CORDON_TRY_VOID(shred_file(m_legacy_key_file));
    return ok();
  };
  if (held) {
    if (legacy && legacy->public_key != *held) {
      crypto::wipe(legacy->seed);
      return fail(Errc::integrity, "secretsd holds another checkpoint key than auditd's key file " + m_legacy_key_file.string() +
                                       "; refusing to sign with either (auditors pinned one of them)");
    }
    CORDON_TRY_VOID(forget_legacy());
    return *held;
  }
  Json body = Json::object();
  if (legacy) body["seed_base64"] = to_base64(legacy->seed);
  std::string text = body.dump();
  auto created = call(m_socket, ipc::Method::post, "/v1/keys/checkpoint", text, 201);
  crypto::wipe({reinterpret_cast<std::uint8_t*>(text.data()), text.size()});
  if (!created) {
    if (legacy) crypto::wipe(legacy->seed);
    return tl::unexpected(created.error());
  }
  const auto key = CORDON_TRY(public_key_of(*created));
  if (legacy && legacy->public_key != key) {
    crypto::wipe(legacy->seed);
    return fail(Errc::integrity, "secretsd stored another checkpoint key than the one auditd moved to it");
  }
  CORDON_TRY_VOID(forget_legacy());
  log::info(legacy ? "moved the checkpoint key into secretsd" : "secretsd generated the checkpoint key");
  return key;
}

Result<void> SecretsdCheckpointSigner::prepare() const {
  std::lock_guard lock(m_mutex);
  if (m_ready) return ok();
  m_public_key = CORDON_TRY(resolve());
  m_ready = true;
  return ok();
}

Result<ledger::Ed25519Signature> SecretsdCheckpointSigner::sign(std::span<const std::uint8_t> message) const {
  if (!m_ready) return fail(Errc::unavailable, "the checkpoint key is not available yet");
  std::lock_guard lock(m_mutex);
  const Json body = {{"key", key_name}, {"message_base64", to_base64(message)}};
  const auto signed_ = CORDON_TRY(call(m_socket, ipc::Method::post, "/v1/sign", body.dump(), 200));
  auto signature = from_base64(signed_.value("signature", ""));
  if (!signature || signature->size() != 64) return fail(Errc::integrity, "secretsd answered a malformed signature");
  ledger::Ed25519Signature out{};
  std::memcpy(out.data(), signature->data(), 64);
  // Never publish a checkpoint that does not verify under the key auditors pinned.
  if (!crypto::ed25519_verify(m_public_key, message, out))
    return fail(Errc::integrity, "secretsd's signature does not verify under the checkpoint key");
  return out;
}

} // namespace cordon::auditd

#include "agentd/gate_client.h"

#include "common/crypto.h"
#include "common/encoding.h"

namespace cordon::agentd {
namespace {

ipc::ClientOptions gate_options() {
  ipc::ClientOptions options;
  options.timeout = std::chrono::milliseconds(10'000);
  options.max_response_bytes = 64 << 10;
  return options;
}

} // namespace

GateClient::GateClient(std::string approvald_socket, std::string secretsd_socket)
    : m_approvald(std::move(approvald_socket), gate_options()), m_secretsd(std::move(secretsd_socket), gate_options()) {}

Result<Json> GateClient::decide(const Json& proposal) {
  auto response = m_approvald.request(ipc::Method::post, "/v1/decisions", proposal.dump(), "application/json");
  if (!response) return fail(Errc::unavailable, "approvald cannot be reached: " + response.error().message);
  if (response->status != 201) {
    Error error = ipc::error_from_response(*response);
    if (response->status >= 500) error.code = Errc::unavailable;
    return tl::unexpected(error);
  }
  auto packet = parse_json(response->body);
  if (!packet || !packet->is_object()) return fail(Errc::unavailable, "approvald answered a malformed packet");
  return std::move(*packet);
}

Result<std::vector<std::uint8_t>> GateClient::decision_public_key() {
  std::lock_guard lock(m_key_mutex);
  if (!m_decision_key.empty()) return m_decision_key;
  auto response = m_secretsd.request(ipc::Method::get, "/v1/keys");
  if (!response) return fail(Errc::unavailable, "secretsd cannot be reached for the decision key: " + response.error().message);
  if (response->status != 200) {
    return fail(Errc::unavailable, "secretsd did not list its keys: " + ipc::error_from_response(*response).message);
  }
  auto listed = parse_json(response->body);
  if (!listed || !listed->is_object() || !(*listed)["keys"].is_array()) {
    return fail(Errc::unavailable, "secretsd listed its keys in a malformed body");
  }
  for (const Json& key : (*listed)["keys"]) {
    if (key.value("name", "") != "decision" || key.value("purpose", "") != "decision") continue;
    auto decoded = from_base64(key.value("public_key", ""));
    if (!decoded || decoded->size() != 32) return fail(Errc::unavailable, "secretsd's decision key is malformed");
    m_decision_key = std::move(*decoded);
    return m_decision_key;
  }
  return fail(Errc::unavailable, "secretsd holds no decision key yet");
}

Result<GateClient::Lease> GateClient::lease(const Json& packet, const Json& action, const std::string& secret,
                                            const std::string& run_id) {
  const Json body = {{"packet", packet}, {"action", action}, {"secret", secret}, {"run_id", run_id}};
  auto response = m_secretsd.request(ipc::Method::post, "/v1/leases", body.dump(), "application/json");
  if (!response) return fail(Errc::unavailable, "secretsd cannot be reached for a lease: " + response.error().message);
  if (response->status != 200 && response->status != 201) {
    return fail(Errc::permission_denied, "secretsd refused the lease of " + secret + ": " + ipc::error_from_response(*response).message);
  }
  auto answer = parse_json(response->body);
  if (!answer || !answer->is_object() || !(*answer)["lease_id"].is_string() || !(*answer)["value_base64"].is_string()) {
    return fail(Errc::unavailable, "secretsd answered the lease in a malformed body");
  }
  auto decoded = from_base64((*answer)["value_base64"].get<std::string>());
  (*answer)["value_base64"] = "";
  if (!decoded) return fail(Errc::unavailable, "secretsd answered the lease in a malformed body");
  auto value = SecureBytes::copy_of(std::span<const std::uint8_t>(*decoded));
  crypto::wipe(*decoded);
  if (!value) return tl::unexpected(value.error());
  return Lease{(*answer)["lease_id"].get<std::string>(), std::move(*value)};
}

void GateClient::release(const std::string& lease_id) {
  (void)m_secretsd.request(ipc::Method::delete_, "/v1/leases/" + lease_id);
}

} // namespace cordon::agentd

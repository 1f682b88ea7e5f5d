#include "agentd/gate_client.h"

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

} // namespace cordon::agentd

#include "approvald/decision_signer.h"

#include "common/decision/decision_packet.h"
#include "common/encoding.h"
#include "common/ipc/client_request.h"

namespace cordon::approvald {
namespace {

ipc::ClientOptions signer_options() {
  ipc::ClientOptions options;
  options.timeout = std::chrono::milliseconds(5'000);
  options.max_response_bytes = 16 << 10;
  return options;
}

} // namespace

DecisionSigner::DecisionSigner(std::string secretsd_socket) : m_secretsd(std::move(secretsd_socket), signer_options()) {}

Result<Json> DecisionSigner::sign(const Json& decision) {
  const auto message = CORDON_TRY(decision::decision_signing_bytes(decision));
  const Json body = {{"key", "decision"}, {"message_base64", to_base64(as_bytes(message))}};
  auto response = m_secretsd.request(ipc::Method::post, "/v1/sign", body.dump(), "application/json");
  if (!response) return fail(Errc::unavailable, "secretsd cannot sign the decision: " + response.error().message);
  if (response->status != 200) {
    Error error = ipc::error_from_response(*response);
    return fail(Errc::unavailable, "secretsd refused to sign the decision: " + error.message);
  }
  auto answer = parse_json(response->body);
  if (!answer || !answer->is_object() || !(*answer)["signature"].is_string() || !(*answer)["key_id"].is_string())
    return fail(Errc::unavailable, "secretsd answered the signature in a malformed body");
  return Json{{"decision", decision}, {"signature", (*answer)["signature"]}, {"key_id", (*answer)["key_id"]}};
}

} // namespace cordon::approvald

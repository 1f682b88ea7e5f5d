#include "common/audit/audit_client.h"

#include <utility>

#include "common/ipc/client_pool.h"

namespace cordon {

AuditClient::AuditClient(std::string socket_path, ipc::ClientOptions options)
    : m_pool(std::make_unique<ipc::ClientPool>(std::move(socket_path), options)) {}

AuditClient::~AuditClient() = default;

ipc::ClientOptions AuditClient::default_options() {
  ipc::ClientOptions options;
  // An append is durable in well under a millisecond; a ledger that takes seconds is failing,
  // and the caller's action must wait on no longer than this.
  options.timeout = std::chrono::milliseconds(5'000);
  options.max_response_bytes = 64 << 10;
  return options;
}

Json AuditClient::event_body(const AuditEvent& event) {
  Json body = {{"kind", event.kind}, {"actor", {{"type", event.actor_type}, {"id", event.actor_id}}},
               {"data", event.data}};
  if (event.run_id) body["run_id"] = *event.run_id;
  if (!event.sensitive.empty()) body["sensitive"] = event.sensitive;
  return body;
}

Result<AuditAck> AuditClient::record(const AuditEvent& event) {
  auto response = m_pool->request(ipc::Method::post, "/v1/events", event_body(event).dump(), "application/json");
  if (!response) {
    return fail(Errc::unavailable, "cannot record " + event.kind + " in the audit ledger: " + response.error().message);
  }
  if (response->status != 201) {
    Error error = ipc::error_from_response(*response);
    if (response->status >= 500) error.code = Errc::unavailable;
    error.message = "the audit ledger refused " + event.kind + ": " + error.message;
    return tl::unexpected(std::move(error));
  }
  auto body = parse_json(response->body);
  if (!body || !body->is_object() || !(*body)["index"].is_number_unsigned() || !(*body)["leaf_hash"].is_string()) {
    return fail(Errc::unavailable, "the audit ledger answered " + event.kind + " with a malformed acknowledgement");
  }
  return AuditAck{(*body)["index"].get<std::uint64_t>(), (*body)["leaf_hash"].get<std::string>()};
}

} // namespace cordon

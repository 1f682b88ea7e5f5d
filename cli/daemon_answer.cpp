#include "cli/daemon_answer.h"

#include "common/ipc/client_request.h"

namespace cordon::cli {

Result<std::string> answer_body(Result<ipc::Response> response, std::string_view daemon, int expected) {
  if (!response) {
    if (daemon.empty()) return tl::unexpected(response.error());
    return fail(response.error().code, "cannot reach " + std::string(daemon) + ": " + response.error().message);
  }
  if (response->status != expected) return tl::unexpected(ipc::error_from_response(*response));
  return std::move(response->body);
}

Result<Json> answer_json(Result<ipc::Response> response, std::string_view daemon, int expected) {
  return parse_json(CORDON_TRY(answer_body(std::move(response), daemon, expected)));
}

} // namespace cordon::cli

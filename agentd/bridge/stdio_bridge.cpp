#include "agentd/bridge/stdio_bridge.h"

#include <istream>
#include <ostream>

#include "agentd/mcp/jsonrpc.h"

namespace cordon::agentd {
namespace {

ipc::ClientOptions bridge_options() {
  ipc::ClientOptions options;
  options.timeout = std::chrono::milliseconds(300'000); // a held or slow tool call still answers
  options.max_response_bytes = 8 << 20;
  return options;
}

// The id of a request line, or null for a notification, a response or an unreadable line.
Json request_id(const std::string& line) {
  auto parsed = parse_json(line);
  if (!parsed || !parsed->is_object() || !parsed->contains("method")) return nullptr;
  const auto id = parsed->find("id");
  return id == parsed->end() ? Json(nullptr) : *id;
}

std::string error_line(const Json& id, const std::string& message) {
  if (id.is_null()) return "";
  return mcp::rpc_error(id, mcp::RpcError{mcp::rpc_code::internal_error, message}).dump();
}

} // namespace

StdioBridge::StdioBridge(std::string socket, std::string run_id)
    : m_client(std::move(socket), bridge_options()), m_run_id(std::move(run_id)) {}

std::string StdioBridge::forward(const std::string& line) {
  const Json id = request_id(line);
  if (line.size() > max_line_bytes) return error_line(id, "the message is larger than 2 MiB");
  ipc::ClientRequest request;
  request.method = ipc::Method::post;
  request.target = "/mcp";
  request.body = line;
  request.content_type = "application/json";
  request.headers.push_back({"Accept", "application/json, text/event-stream"});
  request.headers.push_back({"Cordon-Run-Id", m_run_id});
  if (!m_session.empty()) request.headers.push_back({"Mcp-Session-Id", m_session});
  if (!m_protocol_version.empty()) request.headers.push_back({"MCP-Protocol-Version", m_protocol_version});
  auto response = m_client.request(request);
  if (!response) return error_line(id, "agentd cannot be reached: " + response.error().message);

  if (const auto session = response->header("mcp-session-id"); !session.empty()) {
    m_session = std::string(session);
    auto answer = parse_json(response->body);
    if (answer && answer->is_object() && (*answer)["result"].is_object() && (*answer)["result"]["protocolVersion"].is_string()) {
      m_protocol_version = (*answer)["result"]["protocolVersion"].get<std::string>();
    }
  }
  if (response->status == 202) return "";
  auto body = parse_json(response->body);
  if (body && body->is_object() && body->contains("jsonrpc")) return body->dump();
  // A problem (a refused peer, an oversized body) rather than a JSON-RPC answer.
  return error_line(id, "agentd refused the message: " + ipc::error_from_response(*response).message);
}

int StdioBridge::run(std::istream& in, std::ostream& out, std::ostream& log) {
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const std::string answer = forward(line);
    if (!answer.empty()) {
      out << answer << '\n';
      out.flush();
    }
    if (!out) {
      log << "cordon-mcp: stdout closed\n";
      return 0;
    }
  }
  return 0;
}

} // namespace cordon::agentd

#include "agentd/mcp/mcp_server.h"

namespace cordon::mcp {
namespace {

constexpr std::string_view previous_protocol_version = "2025-06-18";
// Messages are small: tool arguments are bounded by their schemas well below this.
const JsonLimits message_limits{.max_bytes = std::size_t{2} << 20, .max_depth = 32};

Outgoing accepted() { return Outgoing{202, std::nullopt, std::nullopt}; }

Outgoing answer(const Json& id, Json result) { return Outgoing{200, rpc_result(id, std::move(result)), std::nullopt}; }

Outgoing refuse(int status, const Json& id, int code, std::string message) {
  return Outgoing{status, rpc_error(id, RpcError{code, std::move(message)}), std::nullopt};
}

} // namespace

bool is_supported_protocol_version(std::string_view version) {
  return version == latest_protocol_version || version == previous_protocol_version;
}

McpServer::McpServer(ToolHost& host, ServerInfo info, std::size_t max_sessions)
    : m_host(host), m_info(std::move(info)), m_sessions(max_sessions) {}

void McpServer::handle(const Incoming& incoming, std::function<void(Outgoing)> done) {
  auto message = parse_message(incoming.body, message_limits);
  if (m_on_refusal) {
    done = [this, principal = incoming.principal, run_id = incoming.run_id,
            method = message ? message->method : std::string(), done = std::move(done)](Outgoing out) {
      if (!out.from_tool && out.body && out.body->contains("error")) {
        m_on_refusal(Refusal{principal, run_id, method, out.status, (*out.body)["error"]});
      }
      done(std::move(out));
    };
  }
  if (!message) {
    return done(Outgoing{400, rpc_error(message.error().id, message.error().error), std::nullopt});
  }
  if (message->kind == RpcMessage::Kind::request && message->method == "initialize") {
    return initialize(*message, incoming, done);
  }
  if (!incoming.session_id) {
    return done(refuse(400, message->id, rpc_code::invalid_request,
                       "no Mcp-Session-Id: send initialize first and then the session id it answered"));
  }
  const auto session = m_sessions.find(*incoming.session_id);
  if (!session) {
    return done(refuse(404, message->id, rpc_code::invalid_request,
                       "unknown or expired session: initialize again"));
  }
  // A session id that leaked to another agent is worth nothing to it.
  if (incoming.principal != session->principal) {
    return done(refuse(403, message->id, rpc_code::invalid_request, "this session was opened by another agent"));
  }
  if (incoming.protocol_version && *incoming.protocol_version != session->protocol_version) {
    return done(refuse(400, message->id, rpc_code::invalid_request,
                       "MCP-Protocol-Version " + *incoming.protocol_version +
                           " is not the session's " + session->protocol_version));
  }
  if (incoming.run_id && *incoming.run_id != session->run_id) {
    return done(refuse(403, message->id, rpc_code::invalid_request,
                       "this session acts for run " + session->run_id + ", not for another run"));
  }
  switch (message->kind) {
  case RpcMessage::Kind::response:
    return done(accepted()); // agentd sends no requests, so there is nothing to match
  case RpcMessage::Kind::notification:
    if (message->method == "notifications/initialized") m_sessions.mark_initialized(session->id);
    return done(accepted()); // notifications/cancelled and others: nothing to do
  case RpcMessage::Kind::request:
    return dispatch(*message, *session, done);
  }
}

void McpServer::initialize(const RpcMessage& message, const Incoming& incoming,
                           const std::function<void(Outgoing)>& done) {
  const Json& params = message.params;
  const auto version = params.find("protocolVersion");
  const auto client = params.find("clientInfo");
  if (version == params.end() || !version->is_string()) {
    return done(refuse(200, message.id, rpc_code::invalid_params, "initialize needs protocolVersion, a string"));
  }
  if (client == params.end() || !client->is_object() || !client->contains("name") ||
      !(*client)["name"].is_string()) {
    return done(refuse(200, message.id, rpc_code::invalid_params, "initialize needs clientInfo with a name"));
  }
  if (!incoming.run_id || incoming.run_id->empty()) {
    return done(refuse(403, message.id, rpc_code::invalid_request,
                       "no Cordon-Run-Id: a session is opened for a run registered by an operator"));
  }
  if (auto run = m_host.check_run(*incoming.run_id); !run) {
    return done(refuse(403, message.id, rpc_code::invalid_request, run.error().message));
  }
  const std::string requested = version->get<std::string>();
  const std::string agreed = is_supported_protocol_version(requested) ? requested : std::string(latest_protocol_version);
  auto session = m_sessions.open(agreed, *incoming.run_id, (*client)["name"].get<std::string>(), incoming.principal);
  if (!session) return done(refuse(500, message.id, rpc_code::internal_error, session.error().message));

  Json server_info = {{"name", m_info.name}, {"title", m_info.title}, {"version", m_info.version}};
  Json result = {{"protocolVersion", agreed},
                 {"capabilities", {{"tools", {{"listChanged", false}}}}},
                 {"serverInfo", std::move(server_info)}};
  if (!m_info.instructions.empty()) result["instructions"] = m_info.instructions;
  Outgoing out = answer(message.id, std::move(result));
  out.session_id = session->id;
  done(std::move(out));
}

void McpServer::dispatch(const RpcMessage& message, const Session& session,
                         const std::function<void(Outgoing)>& done) {
  if (message.method == "ping") return done(answer(message.id, Json::object()));
  if (message.method == "tools/list") {
    for (const auto& [key, value] : message.params.items()) {
      if (key != "cursor" && key != "_meta") {
        return done(refuse(200, message.id, rpc_code::invalid_params, "unknown parameter \"" + key + "\""));
      }
    }
    return done(answer(message.id, {{"tools", m_host.list_tools()}})); // one page: no nextCursor
  }
  if (message.method == "tools/call") return call_tool(message, session, done);
  if (message.method == "initialize") {
    return done(refuse(200, message.id, rpc_code::invalid_request, "the session is already initialized"));
  }
  done(refuse(200, message.id, rpc_code::method_not_found, "method not found: " + message.method));
}

void McpServer::call_tool(const RpcMessage& message, const Session& session,
                          const std::function<void(Outgoing)>& done) {
  const Json& params = message.params;
  for (const auto& [key, value] : params.items()) {
    if (key != "name" && key != "arguments" && key != "_meta") {
      return done(refuse(200, message.id, rpc_code::invalid_params, "unknown parameter \"" + key + "\""));
    }
  }
  const auto name = params.find("name");
  if (name == params.end() || !name->is_string()) {
    return done(refuse(200, message.id, rpc_code::invalid_params, "tools/call needs a tool name"));
  }
  Json arguments = Json::object();
  if (const auto given = params.find("arguments"); given != params.end()) {
    if (!given->is_object()) {
      return done(refuse(200, message.id, rpc_code::invalid_params, "arguments must be an object"));
    }
    arguments = *given;
  }
  CallContext context{session.id, session.run_id, session.protocol_version, session.principal};
  if (const auto meta = params.find("_meta"); meta != params.end()) {
    if (!meta->is_object()) {
      return done(refuse(200, message.id, rpc_code::invalid_params, "_meta must be an object"));
    }
    context.meta = *meta;
  }
  m_host.call_tool(context, name->get<std::string>(), arguments,
                   [id = message.id, done](tl::expected<Json, RpcError> outcome) {
                     Outgoing out = outcome ? answer(id, std::move(*outcome))
                                            : Outgoing{200, rpc_error(id, outcome.error()), std::nullopt};
                     out.from_tool = true;
                     done(std::move(out));
                   });
}

} // namespace cordon::mcp

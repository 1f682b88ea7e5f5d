#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "agentd/mcp/jsonrpc.h"
#include "agentd/mcp/sessions.h"
#include "common/error.h"
#include "common/json.h"

// The MCP server (protocol 2025-11-25, also 2025-06-18) over the Streamable HTTP transport's
// POST: lifecycle, sessions bound to runs, and method dispatch. Transport-neutral: the daemon
// maps its HTTP requests onto Incoming and Outgoing.
namespace cordon::mcp {

inline constexpr std::string_view latest_protocol_version = "2025-11-25";
bool is_supported_protocol_version(std::string_view version);

// Who is calling: the session and the run it is bound to.
struct CallContext {
  std::string session_id;
  std::string run_id;
  std::string protocol_version;
  std::string principal; // who opened the session
  Json meta = Json::object(); // the request's params._meta (an object), e.g. "cordon/confidence"
};

// What the server needs from agentd.
class ToolHost {
public:
  virtual ~ToolHost() = default;
  // Errc::not_found (or another error, whose message the client sees) if `run_id` is no
  // registered, open run: a session can only be opened for one.
  virtual Result<void> check_run(const std::string& run_id) = 0;
  // The tools/list "tools" array.
  virtual Json list_tools() = 0;
  // tools/call. `done` gets a CallToolResult object ({"content", "structuredContent",
  // "isError"}) or a protocol error (an unknown tool is invalid_params). Called exactly once,
  // on any thread.
  using CallDone = std::function<void(tl::expected<Json, RpcError>)>;
  virtual void call_tool(const CallContext& context, const std::string& name, const Json& arguments,
                         CallDone done) = 0;
};

// One POST to the MCP endpoint.
struct Incoming {
  std::string body;
  std::optional<std::string> session_id;       // Mcp-Session-Id
  std::optional<std::string> protocol_version; // MCP-Protocol-Version
  std::optional<std::string> run_id;           // Cordon-Run-Id: the run a session is opened for
  std::string principal;                       // who the transport authenticated ("agent:token-1a2b3c4d")
};

// The answer: an HTTP status, a JSON-RPC response body (none for 202), and the session id to
// send back after initialize.
struct Outgoing {
  int status = 200;
  std::optional<Json> body;
  std::optional<std::string> session_id;
  // The ToolHost's own answer to a tools/call (a result, or an error such as an unknown tool),
  // which the host records itself; everything else is the server's.
  bool from_tool = false;
};

// A message the server refused with a JSON-RPC error of its own (malformed JSON-RPC, an unknown
// method, a session or run that does not match, invalid params), for the daemon's ledger.
struct Refusal {
  std::string principal;
  std::optional<std::string> run_id;
  std::string method; // empty when the message did not parse
  int status = 200;   // the HTTP status it was answered with
  Json error;         // the JSON-RPC error object: code, message
};

struct ServerInfo {
  std::string name = "cordon-agentd";
  std::string title = "Cordon";
  std::string version{};
  std::string instructions{};
};

// Rules, beyond JSON-RPC's:
// - initialize needs a Cordon-Run-Id of a registered run and opens a session bound to it; the
//   protocol version is the client's when supported, else the latest.
// - Every other message needs its session's Mcp-Session-Id: missing is 400, unknown (or
//   forgotten) is 404. An MCP-Protocol-Version other than the session's is 400, and a
//   Cordon-Run-Id naming another run than the session's is 403: a session never acts for
//   another run.
// - Notifications and responses are answered 202 without a body; requests 200 with the
//   JSON-RPC response (errors included, as JSON-RPC wants).
class McpServer {
public:
  McpServer(ToolHost& host, ServerInfo info, std::size_t max_sessions = 1024);

  void handle(const Incoming& incoming, std::function<void(Outgoing)> done);

  // Told about every Refusal before it is answered. Set before serving; must not block long.
  using RefusalHook = std::function<void(const Refusal&)>;
  void set_refusal_hook(RefusalHook hook) { m_on_refusal = std::move(hook); }

  // HTTP DELETE of a session by the principal that opened it; false if unknown or another's.
  bool close_session(const std::string& id, const std::string& principal) {
    const auto session = m_sessions.find(id);
    return session && session->principal == principal && m_sessions.close(id);
  }
  SessionTable& sessions() { return m_sessions; }

private:
  void initialize(const RpcMessage& message, const Incoming& incoming, const std::function<void(Outgoing)>& done);
  void dispatch(const RpcMessage& message, const Session& session, const std::function<void(Outgoing)>& done);
  void call_tool(const RpcMessage& message, const Session& session, const std::function<void(Outgoing)>& done);

  ToolHost& m_host;
  ServerInfo m_info;
  RefusalHook m_on_refusal;
  SessionTable m_sessions;
};

} // namespace cordon::mcp

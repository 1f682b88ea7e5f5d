#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/json.h"

// JSON-RPC 2.0 as MCP uses it (one message per HTTP request or stdio line; no batches, which
// MCP 2025-06-18 removed).
namespace cordon::mcp {

// The standard error codes.
namespace rpc_code {
inline constexpr int parse_error = -32700;
inline constexpr int invalid_request = -32600;
inline constexpr int method_not_found = -32601;
inline constexpr int invalid_params = -32602;
inline constexpr int internal_error = -32603;
} // namespace rpc_code

struct RpcError {
  int code = rpc_code::internal_error;
  std::string message;
  Json data = nullptr; // omitted from the response when null
};

// What a client sent: a request (it has an id and wants an answer), a notification (a method
// without an id) or a response to a request of ours (result or error; agentd sends none, so
// these are accepted and dropped).
struct RpcMessage {
  enum class Kind { request, notification, response };
  Kind kind = Kind::request;
  Json id = nullptr; // a string or an integer for requests and responses
  std::string method;
  Json params = Json::object(); // an object (absent params read as {})
};

// A message that could not be read, with the id to answer it under (null when none was
// readable), as JSON-RPC requires.
struct RpcFailure {
  RpcError error;
  Json id = nullptr;
};

// Reads one message strictly: `"jsonrpc": "2.0"`; an id that is a string or an integer (not null,
// not a float); a method string; params an object when present (MCP never sends arrays); no
// members beyond jsonrpc, id, method, params, result, error. Malformed JSON is parse_error; an
// array (a batch) or anything else that is not a valid message is invalid_request. Never throws.
tl::expected<RpcMessage, RpcFailure> parse_message(std::string_view text, const JsonLimits& limits);

// The response objects.
Json rpc_result(const Json& id, Json result);
Json rpc_error(const Json& id, const RpcError& error);

} // namespace cordon::mcp

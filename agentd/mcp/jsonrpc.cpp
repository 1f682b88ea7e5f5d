#include "agentd/mcp/jsonrpc.h"

namespace cordon::mcp {
namespace {

RpcFailure invalid(std::string message, Json id = nullptr) {
  return RpcFailure{RpcError{rpc_code::invalid_request, std::move(message)}, std::move(id)};
}

bool is_valid_id(const Json& id) { return id.is_string() || id.is_number_integer(); }

} // namespace

tl::expected<RpcMessage, RpcFailure> parse_message(std::string_view text, const JsonLimits& limits) {
  auto parsed = parse_json(text, limits);
  if (!parsed) {
    const int code = parsed.error().code == Errc::too_large ? rpc_code::invalid_request : rpc_code::parse_error;
    return tl::unexpected(RpcFailure{RpcError{code, parsed.error().message}});
  }
  const Json& message = *parsed;
  if (message.is_array()) return tl::unexpected(invalid("batches are not supported; send one message"));
  if (!message.is_object()) return tl::unexpected(invalid("a JSON-RPC message is an object"));

  // The id first, so that later failures can be answered under it.
  Json id = nullptr;
  if (const auto found = message.find("id"); found != message.end()) {
    if (!is_valid_id(*found)) return tl::unexpected(invalid("id must be a string or an integer"));
    id = *found;
  }
  for (const auto& [key, value] : message.items()) {
    if (key != "jsonrpc" && key != "id" && key != "method" && key != "params" && key != "result" &&
        key != "error") {
      return tl::unexpected(invalid("unknown member \"" + key + "\"", id));
    }
  }
  if (message.value("jsonrpc", Json()) != "2.0") {
    return tl::unexpected(invalid("jsonrpc must be \"2.0\"", id));
  }

  RpcMessage out;
  out.id = id;
  const bool has_method = message.contains("method");
  const bool has_result = message.contains("result");
  const bool has_error = message.contains("error");
  if (!has_method) {
    if (has_result == has_error || id.is_null() || message.contains("params")) {
      return tl::unexpected(invalid("a message needs a method, or exactly one of result and error", id));
    }
    out.kind = RpcMessage::Kind::response;
    return out;
  }
  if (has_result || has_error) return tl::unexpected(invalid("a request carries no result or error", id));
  if (!message["method"].is_string() || message["method"].get_ref<const std::string&>().empty()) {
    return tl::unexpected(invalid("method must be a non-empty string", id));
  }
  out.method = message["method"].get<std::string>();
  if (const auto params = message.find("params"); params != message.end()) {
    if (!params->is_object()) return tl::unexpected(invalid("params must be an object", id));
    out.params = *params;
  }
  out.kind = id.is_null() ? RpcMessage::Kind::notification : RpcMessage::Kind::request;
  return out;
}

Json rpc_result(const Json& id, Json result) {
  return Json{{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}};
}

Json rpc_error(const Json& id, const RpcError& error) {
  Json body = {{"code", error.code}, {"message", error.message}};
  if (!error.data.is_null()) body["data"] = error.data;
  return Json{{"jsonrpc", "2.0"}, {"id", id}, {"error", std::move(body)}};
}

} // namespace cordon::mcp

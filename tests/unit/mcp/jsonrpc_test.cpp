#include <catch2/catch.hpp>

#include "agentd/mcp/jsonrpc.h"

using namespace cordon;
using namespace cordon::mcp;

namespace {

RpcMessage read(std::string_view text) {
  auto message = parse_message(text, {});
  INFO(text);
  REQUIRE(message);
  return *message;
}

RpcFailure refused(std::string_view text) {
  auto message = parse_message(text, {});
  INFO(text);
  REQUIRE_FALSE(message);
  return message.error();
}

} // namespace

TEST_CASE("requests, notifications and responses are told apart") {
  auto request = read(R"({"jsonrpc":"2.0","id":7,"method":"tools/list"})");
  CHECK(request.kind == RpcMessage::Kind::request);
  CHECK(request.id == 7);
  CHECK(request.method == "tools/list");
  CHECK(request.params == Json::object());

  auto named = read(R"({"jsonrpc":"2.0","id":"a-1","method":"tools/call","params":{"name":"fs.read"}})");
  CHECK(named.id == "a-1");
  CHECK(named.params["name"] == "fs.read");

  CHECK(read(R"({"jsonrpc":"2.0","method":"notifications/initialized"})").kind == RpcMessage::Kind::notification);
  CHECK(read(R"({"jsonrpc":"2.0","id":3,"result":{}})").kind == RpcMessage::Kind::response);
  CHECK(read(R"({"jsonrpc":"2.0","id":3,"error":{"code":1,"message":"x"}})").kind == RpcMessage::Kind::response);
}

TEST_CASE("malformed JSON is a parse error without an id") {
  auto failure = refused(R"({"jsonrpc":"2.0","id":1,"method":)");
  CHECK(failure.error.code == rpc_code::parse_error);
  CHECK(failure.id.is_null());
  CHECK(refused("{\"jsonrpc\":\"2.0\",\"id\":1,\"id\":2,\"method\":\"ping\"}").error.code == rpc_code::parse_error);
}

TEST_CASE("invalid messages are invalid requests, answered under their id when it is readable") {
  struct Case {
    const char* text;
    bool has_id;
  };
  const Case cases[] = {
      {R"([{"jsonrpc":"2.0","id":1,"method":"ping"}])", false},        // a batch
      {R"("ping")", false},                                             // not an object
      {R"({"id":1,"method":"ping"})", true},                            // no jsonrpc
      {R"({"jsonrpc":"1.0","id":1,"method":"ping"})", true},            // wrong version
      {R"({"jsonrpc":"2.0","id":null,"method":"ping"})", false},        // null id
      {R"({"jsonrpc":"2.0","id":1.5,"method":"ping"})", false},         // float id
      {R"({"jsonrpc":"2.0","id":{},"method":"ping"})", false},          // object id
      {R"({"jsonrpc":"2.0","id":1,"method":""})", true},                // empty method
      {R"({"jsonrpc":"2.0","id":1,"method":7})", true},                 // method not a string
      {R"({"jsonrpc":"2.0","id":1,"method":"ping","params":[1]})", true}, // positional params
      {R"({"jsonrpc":"2.0","id":1,"method":"ping","extra":true})", true}, // unknown member
      {R"({"jsonrpc":"2.0","id":1,"method":"ping","result":{}})", true},  // both
      {R"({"jsonrpc":"2.0","id":1})", true},                            // neither
      {R"({"jsonrpc":"2.0","result":{}})", false},                      // response without id
      {R"({"jsonrpc":"2.0","id":1,"result":{},"error":{}})", true},     // result and error
  };
  for (const auto& c : cases) {
    auto failure = refused(c.text);
    CHECK(failure.error.code == rpc_code::invalid_request);
    CHECK(failure.id.is_null() == !c.has_id);
  }
}

TEST_CASE("an oversized message is refused before it is read") {
  const std::string big = R"({"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":")" + std::string(2000, 'a') + "\"}}";
  auto message = parse_message(big, JsonLimits{.max_bytes = 1000, .max_depth = 32});
  REQUIRE_FALSE(message);
  CHECK(message.error().error.code == rpc_code::invalid_request);
}

TEST_CASE("responses carry the id and either a result or an error") {
  CHECK(rpc_result(4, {{"ok", true}}) == Json::parse(R"({"jsonrpc":"2.0","id":4,"result":{"ok":true}})"));
  CHECK(rpc_error("x", RpcError{rpc_code::method_not_found, "nope"}) ==
        Json::parse(R"({"jsonrpc":"2.0","id":"x","error":{"code":-32601,"message":"nope"}})"));
  CHECK(rpc_error(nullptr, RpcError{rpc_code::invalid_params, "bad", {{"path", "a"}}})["error"]["data"]["path"] == "a");
}

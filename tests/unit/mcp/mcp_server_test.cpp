// The MCP lifecycle and dispatch, with a fake ToolHost as the seam (the real agentd behind it is
// tested in tests/integration/agentd, and the official SDK against it in tests/e2e).
#include <catch2/catch.hpp>

#include <optional>
#include <set>

#include "agentd/mcp/mcp_server.h"

using namespace cordon;
using namespace cordon::mcp;

namespace {

class FakeHost final : public ToolHost {
public:
  std::set<std::string> runs{"r-1", "r-2"};
  std::optional<CallContext> last_context;
  Json last_arguments;

  Result<void> check_run(const std::string& run_id) override {
    if (!runs.contains(run_id)) return fail(Errc::not_found, "no open run " + run_id);
    return ok();
  }
  Json list_tools() override { return Json::array({{{"name", "fs.read"}}}); }
  void call_tool(const CallContext& context, const std::string& name, const Json& arguments,
                 CallDone done) override {
    last_context = context;
    last_arguments = arguments;
    if (name != "fs.read") return done(tl::unexpected(RpcError{rpc_code::invalid_params, "unknown tool " + name}));
    done(Json{{"content", Json::array({{{"type", "text"}, {"text", "hello"}}})}, {"isError", false}});
  }
};

struct Harness {
  FakeHost host;
  McpServer server{host, ServerInfo{.version = "0.1.0"}};

  Outgoing send(Incoming incoming) {
    std::optional<Outgoing> out;
    server.handle(incoming, [&](Outgoing o) { out = std::move(o); });
    REQUIRE(out);
    return *out;
  }
  Outgoing send(const Json& message, std::optional<std::string> session, std::optional<std::string> run = std::nullopt,
                std::string principal = "agent:tester") {
    return send(Incoming{message.dump(), std::move(session), std::nullopt, std::move(run), std::move(principal)});
  }
  std::string initialize(const std::string& run = "r-1", const std::string& version = "2025-11-25") {
    const Json request = {{"jsonrpc", "2.0"}, {"id", 0}, {"method", "initialize"},
                          {"params", {{"protocolVersion", version}, {"capabilities", Json::object()},
                                      {"clientInfo", {{"name", "test-client"}, {"version", "1"}}}}}};
    auto out = send(request, std::nullopt, run);
    REQUIRE(out.status == 200);
    REQUIRE(out.session_id);
    return *out.session_id;
  }
};

Json request(int id, std::string method, Json params = Json::object()) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"method", std::move(method)}, {"params", std::move(params)}};
}

int error_code(const Outgoing& out) {
  REQUIRE(out.body);
  REQUIRE(out.body->contains("error"));
  return (*out.body)["error"]["code"].get<int>();
}

} // namespace

TEST_CASE("initialize negotiates the protocol version and opens a session bound to the run") {
  Harness h;
  const Json init = {{"jsonrpc", "2.0"}, {"id", 1}, {"method", "initialize"},
                     {"params", {{"protocolVersion", "2025-11-25"}, {"capabilities", Json::object()},
                                 {"clientInfo", {{"name", "c"}, {"version", "1"}}}}}};
  auto out = h.send(init, std::nullopt, "r-1");
  REQUIRE(out.status == 200);
  REQUIRE(out.session_id);
  CHECK(out.session_id->size() > 30);
  const Json& result = (*out.body)["result"];
  CHECK(result["protocolVersion"] == "2025-11-25");
  CHECK(result["capabilities"]["tools"]["listChanged"] == false);
  CHECK(result["serverInfo"]["name"] == "cordon-agentd");
  CHECK(result["serverInfo"]["version"] == "0.1.0");
  CHECK(h.server.sessions().find(*out.session_id)->run_id == "r-1");

  // 2025-06-18 is accepted as asked; an unknown version is answered with the latest.
  CHECK(h.server.sessions().find(h.initialize("r-1", "2025-06-18"))->protocol_version == "2025-06-18");
  CHECK(h.server.sessions().find(h.initialize("r-1", "2024-11-05"))->protocol_version == "2025-11-25");
}

TEST_CASE("a session is opened only for a registered run") {
  Harness h;
  const Json init = request(1, "initialize", {{"protocolVersion", "2025-11-25"}, {"clientInfo", {{"name", "c"}}}});
  auto no_run = h.send(init, std::nullopt);
  CHECK(no_run.status == 403);
  CHECK_FALSE(no_run.session_id);
  auto unknown = h.send(init, std::nullopt, "r-9");
  CHECK(unknown.status == 403);
  CHECK((*unknown.body)["error"]["message"] == "no open run r-9");
  CHECK(h.server.sessions().size() == 0);

  CHECK(error_code(h.send(request(1, "initialize", {{"clientInfo", {{"name", "c"}}}}), std::nullopt, "r-1")) ==
        rpc_code::invalid_params);
  CHECK(error_code(h.send(request(1, "initialize", {{"protocolVersion", "2025-11-25"}}), std::nullopt, "r-1")) ==
        rpc_code::invalid_params);
}

TEST_CASE("messages after initialize need the session, its version and its run") {
  Harness h;
  const std::string session = h.initialize();
  CHECK(h.send(request(2, "ping"), std::nullopt).status == 400);
  CHECK(h.send(request(2, "ping"), std::string("mcp-unknown")).status == 404);
  auto other_run = h.send(request(2, "ping"), session, "r-2");
  CHECK(other_run.status == 403);
  CHECK(error_code(other_run) == rpc_code::invalid_request);
  auto wrong_version = h.send(Incoming{request(2, "ping").dump(), session, "2025-06-18", std::nullopt, "agent:tester"});
  CHECK(wrong_version.status == 400);

  auto ping = h.send(request(2, "ping"), session, "r-1");
  CHECK(ping.status == 200);
  CHECK((*ping.body)["result"] == Json::object());
  CHECK((*ping.body)["id"] == 2);

  // A closed session is gone.
  CHECK(h.server.close_session(session, "agent:tester"));
  CHECK(h.send(request(3, "ping"), session).status == 404);
}

TEST_CASE("a session is of use only to the principal that opened it") {
  Harness h;
  const std::string session = h.initialize();
  auto stolen = h.send(request(2, "ping"), session, "r-1", "agent:token-0badc0de");
  CHECK(stolen.status == 403);
  CHECK(error_code(stolen) == rpc_code::invalid_request);
  CHECK((*stolen.body)["error"]["message"] == "this session was opened by another agent");
  CHECK_FALSE(h.server.close_session(session, "agent:token-0badc0de"));
  // It still works for its owner, who can close it.
  CHECK(h.send(request(3, "ping"), session, "r-1").status == 200);
  CHECK(h.server.close_session(session, "agent:tester"));
}

TEST_CASE("notifications and responses are accepted without a body") {
  Harness h;
  const std::string session = h.initialize();
  auto initialized = h.send(Json{{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}}, session);
  CHECK(initialized.status == 202);
  CHECK_FALSE(initialized.body);
  CHECK(h.server.sessions().find(session)->initialized);
  CHECK(h.send(Json{{"jsonrpc", "2.0"}, {"method", "notifications/cancelled"}, {"params", {{"requestId", 4}}}}, session).status == 202);
  CHECK(h.send(Json{{"jsonrpc", "2.0"}, {"id", 9}, {"result", Json::object()}}, session).status == 202);
}

TEST_CASE("tools/list and tools/call are dispatched, with the session's run") {
  Harness h;
  const std::string session = h.initialize("r-2");
  auto list = h.send(request(2, "tools/list"), session);
  CHECK((*list.body)["result"]["tools"][0]["name"] == "fs.read");
  CHECK(error_code(h.send(request(2, "tools/list", {{"page", 2}}), session)) == rpc_code::invalid_params);

  auto call = h.send(request(3, "tools/call", {{"name", "fs.read"}, {"arguments", {{"path", "a.txt"}}}}), session);
  CHECK((*call.body)["result"]["content"][0]["text"] == "hello");
  REQUIRE(h.host.last_context);
  CHECK(h.host.last_context->run_id == "r-2");
  CHECK(h.host.last_context->session_id == session);
  CHECK(h.host.last_arguments == Json{{"path", "a.txt"}});

  CHECK(error_code(h.send(request(4, "tools/call", {{"name", "nope"}}), session)) == rpc_code::invalid_params);
  CHECK(error_code(h.send(request(5, "tools/call", {{"arguments", Json::object()}}), session)) == rpc_code::invalid_params);
  CHECK(error_code(h.send(request(6, "tools/call", {{"name", "fs.read"}, {"arguments", "x"}}), session)) ==
        rpc_code::invalid_params);
  CHECK(error_code(h.send(request(7, "tools/call", {{"name", "fs.read"}, {"extra", 1}}), session)) ==
        rpc_code::invalid_params);
}

TEST_CASE("unknown methods, a second initialize and malformed bodies get JSON-RPC errors") {
  Harness h;
  const std::string session = h.initialize();
  CHECK(error_code(h.send(request(2, "resources/list"), session)) == rpc_code::method_not_found);
  auto again = h.send(request(3, "initialize", {{"protocolVersion", "2025-11-25"}, {"clientInfo", {{"name", "c"}}}}),
                      session, "r-1");
  CHECK(again.status == 200); // a new session: initialize always opens one
  auto garbage = h.send(Incoming{"{not json", session, std::nullopt, std::nullopt, "agent:tester"});
  CHECK(garbage.status == 400);
  CHECK(error_code(garbage) == rpc_code::parse_error);
  CHECK((*garbage.body)["id"].is_null());
}

TEST_CASE("the server reports each message it refuses itself, and not a tool's own answers") {
  Harness h;
  std::vector<Refusal> refusals;
  h.server.set_refusal_hook([&](const Refusal& refusal) { refusals.push_back(refusal); });
  const std::string session = h.initialize();
  CHECK(refusals.empty());
  CHECK(h.send(request(1, "ping"), session).status == 200);
  CHECK(refusals.empty());

  (void)h.send(request(2, "resources/list"), session, "r-1");
  REQUIRE(refusals.size() == 1);
  CHECK(refusals[0].method == "resources/list");
  CHECK(refusals[0].principal == "agent:tester");
  CHECK(refusals[0].run_id == "r-1");
  CHECK(refusals[0].error["code"] == rpc_code::method_not_found);

  (void)h.send(Incoming{"{not json", session, std::nullopt, std::nullopt, "agent:tester"});
  REQUIRE(refusals.size() == 2);
  CHECK(refusals[1].method.empty());
  CHECK(refusals[1].status == 400);
  CHECK(refusals[1].error["code"] == rpc_code::parse_error);

  (void)h.send(request(3, "tools/call", {{"name", 5}}), session);
  REQUIRE(refusals.size() == 3);
  CHECK(refusals[2].error["code"] == rpc_code::invalid_params);

  // The host's answer to a call, an error included, is the host's to record.
  (void)h.send(request(4, "tools/call", {{"name", "no.such.tool"}, {"arguments", Json::object()}}), session);
  (void)h.send(request(5, "tools/call", {{"name", "fs.read"}, {"arguments", {{"path", "a"}}}}), session);
  CHECK(refusals.size() == 3);
}

TEST_CASE("the session table forgets the least recently used session beyond its capacity") {
  SessionTable table(2);
  const auto a = *table.open("2025-11-25", "r-1", "a", "agent:a");
  const auto b = *table.open("2025-11-25", "r-1", "b", "agent:a");
  CHECK(table.find(a.id)); // a is now the most recently used
  const auto c = *table.open("2025-11-25", "r-1", "c", "agent:a");
  CHECK(table.size() == 2);
  CHECK(table.find(a.id));
  CHECK_FALSE(table.find(b.id));
  CHECK(table.find(c.id));
  CHECK(a.id != c.id);
}

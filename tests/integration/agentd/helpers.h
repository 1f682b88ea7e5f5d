#pragma once

#include <fstream>
#include <optional>
#include <string>

#include <catch2/catch.hpp>

#include "common/ipc/unix_client.h"
#include "common/json.h"
#include "tests/integration/approvald/helpers.h"
#include "tests/support/agentd_process.h"

namespace cordon::testing {

// The whole gate: auditd, secretsd, approvald (under test_constitution, with reviewer "rita")
// and agentd, in one directory.
struct RunningAgentd {
  explicit RunningAgentd(AgentdProcessOptions options = {})
      : gate([] {
          ApprovaldProcessOptions approvald;
          approvald.approvers_toml = "[[approvald.approvers]]\nname = \"rita\"\ngroups = [\"reviewers\"]\n";
          return approvald;
        }()),
        agentd([&] {
          options.directory = gate.directory.path();
          options.audit_socket = gate.auditd.socket_path();
          options.approvald_socket = gate.approvald.socket_path();
          options.secretsd_socket = gate.secretsd.socket_path();
          return options;
        }()) {
    auto started = agentd.start();
    INFO((started ? std::string() : started.error().message));
    REQUIRE(started);
  }

  // Registers a run for `agent` with `task`; its id.
  std::string register_run(const std::string& task, const std::string& agent = "support-bot") {
    ipc::UnixClient client(agentd.socket_path());
    auto response = client.post("/v1/runs", Json{{"agent", agent}, {"task", task}}.dump());
    REQUIRE(response);
    INFO(response->body);
    REQUIRE(response->status == 201);
    return parse_json(response->body).value()["run_id"].get<std::string>();
  }

  void write_workspace_file(const std::string& path, const std::string& content) {
    const auto full = agentd.workspace() / path;
    std::filesystem::create_directories(full.parent_path());
    std::ofstream(full) << content;
  }

  RunningGate gate;
  AgentdProcess agentd;
};

// A minimal MCP client over agentd's socket, as cordon-mcp or an HTTP MCP client speaks it.
class McpClient {
public:
  McpClient(const std::string& socket, std::string run_id) : m_client(socket), m_run_id(std::move(run_id)) {}

  // initialize and notifications/initialized; the initialize result.
  Json initialize(const std::string& version = "2025-11-25") {
    auto out = send(Json{{"jsonrpc", "2.0"}, {"id", m_next_id++}, {"method", "initialize"},
                         {"params", {{"protocolVersion", version}, {"capabilities", Json::object()},
                                     {"clientInfo", {{"name", "integration-test"}, {"version", "1"}}}}}});
    REQUIRE(out.status == 200);
    m_session = std::string(out.header("mcp-session-id"));
    REQUIRE_FALSE(m_session.empty());
    auto initialized = send(Json{{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}});
    REQUIRE(initialized.status == 202);
    return parse_json(out.body).value()["result"];
  }

  ipc::Response send(const Json& message) {
    ipc::ClientRequest request;
    request.method = ipc::Method::post;
    request.target = "/mcp";
    request.body = message.dump();
    request.content_type = "application/json";
    request.headers.push_back({"Accept", "application/json, text/event-stream"});
    request.headers.push_back({"Cordon-Run-Id", m_run_id});
    if (!m_session.empty()) request.headers.push_back({"Mcp-Session-Id", m_session});
    auto response = m_client.request(request);
    REQUIRE(response);
    return *response;
  }

  // A request; its whole JSON-RPC response.
  Json request(const std::string& method, const Json& params = Json::object()) {
    auto out = send(Json{{"jsonrpc", "2.0"}, {"id", m_next_id++}, {"method", method}, {"params", params}});
    INFO(out.body);
    REQUIRE(out.status == 200);
    return parse_json(out.body).value();
  }

  // tools/call with the agent's confidence; the CallToolResult (REQUIREs no JSON-RPC error).
  Json call(const std::string& tool, const Json& arguments, double confidence = 0.9) {
    auto response = request("tools/call", {{"name", tool}, {"arguments", arguments},
                                           {"_meta", {{"cordon/confidence", confidence}, {"cordon/rationale", "the task asks"}}}});
    INFO(response.dump());
    REQUIRE(response.contains("result"));
    return response["result"];
  }

  const std::string& session() const { return m_session; }

private:
  ipc::UnixClient m_client;
  std::string m_run_id;
  std::string m_session;
  int m_next_id = 1;
};

inline std::string text_of(const Json& result) { return result["content"][0]["text"].get<std::string>(); }

} // namespace cordon::testing

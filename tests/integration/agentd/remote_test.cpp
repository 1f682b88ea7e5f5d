// agentd's HTTPS listener for agents on other hosts ([agentd.remote]), with curl as an
// independent client: a bearer token or a client certificate admits an agent to /mcp, where a
// call goes through the whole gate; nothing else admits anyone, every refusal is audited, and the
// operator's routes (runs, pending deletes) are out of an agent's reach.
#include <regex>

#include "common/crypto.h"
#include "common/files.h"
#include "tests/integration/agentd/helpers.h"
#include "tests/support/temp_dir.h"

using namespace cordon;
using namespace cordon::testing;

namespace {

// devstack's throwaway PKI: server.crt for 127.0.0.1, a client certificate (CN=auditor-dev) and
// a bearer token, all made before agentd starts.
struct RemotePki {
  RemotePki() {
    auto made = run_command(source_path("tools/devstack-tls") + " " + dir.path().string());
    INFO(made.output);
    REQUIRE(made.status == 0);
  }
  std::string file(const std::string& name) const { return (dir / name).string(); }
  std::string token() const { return read_file(dir / "auditor.token").value(); }
  TempDir dir{"cordon-remote-tls"};
};

AgentdProcessOptions remote_options(const RemotePki& pki, const TempDir& scratch) {
  AgentdProcessOptions options;
  options.approval_url = "https://approvals.example/a";
  options.extra_toml = "[agentd.remote]\nlisten = \"127.0.0.1:0\"\naddress_file = \"" + (scratch / "remote.addr").string() +
                       "\"\ncert = \"" + pki.file("server.crt") + "\"\nkey = \"" + pki.file("server.key") +
                       "\"\nclient_ca = \"" + pki.file("ca.crt") + "\"\nbearer_token_sha256 = [\"" +
                       to_hex(crypto::sha256(pki.token())) + "\"]\n";
  return options;
}

struct CurlAnswer {
  int exit_status = -1;
  int http_status = 0;
  std::string headers;
  std::string body;
};

// Agents on another host, as curl speaks to the listener.
struct RemoteAgentd {
  RemoteAgentd() : stack(remote_options(pki, scratch)) {
    auto address = read_file(scratch / "remote.addr");
    REQUIRE(address);
    url = "https://" + address->substr(0, address->find('\n'));
  }

  std::string bearer() const { return "-H 'Authorization: Bearer " + pki.token() + "'"; }
  std::string certificate() const { return "--cert " + pki.file("auditor.crt") + " --key " + pki.file("auditor.key"); }

  CurlAnswer curl(const std::string& arguments, const std::string& target) const {
    const auto body = scratch / "curl.body";
    const auto headers = scratch / "curl.headers";
    const auto code = scratch / "curl.code";
    std::filesystem::remove(body);
    std::filesystem::remove(headers);
    auto run = run_command("{ curl -sS --max-time 20 --cacert " + pki.file("ca.crt") + " " + arguments + " -D " +
                           headers.string() + " -o " + body.string() + " -w '%{http_code}' '" + url + target + "' >" +
                           code.string() + " 2>" + (scratch / "curl.err").string() + "; }");
    CurlAnswer answer;
    answer.exit_status = run.status;
    const std::string written = read_file(code).value_or("");
    answer.http_status = written.empty() ? 0 : std::stoi(written);
    answer.headers = read_file(headers).value_or("");
    answer.body = read_file(body).value_or("");
    return answer;
  }

  // A JSON-RPC message POSTed to /mcp with `credentials`, for `run` in `session`.
  CurlAnswer mcp(const std::string& credentials, const Json& message, const std::string& run,
                 const std::string& session = "") const {
    const auto request = scratch / "request.json";
    REQUIRE(write_file_atomically(request, message.dump()));
    std::string arguments = credentials + " -X POST --data-binary @" + request.string() +
                            " -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream'"
                            " -H 'Cordon-Run-Id: " + run + "'";
    if (!session.empty()) arguments += " -H 'Mcp-Session-Id: " + session + "'";
    return curl(arguments, "/mcp");
  }

  // initialize and notifications/initialized; the session id.
  std::string open_session(const std::string& credentials, const std::string& run) const {
    auto init = mcp(credentials,
                    {{"jsonrpc", "2.0"}, {"id", 1}, {"method", "initialize"},
                     {"params", {{"protocolVersion", "2025-11-25"}, {"capabilities", Json::object()},
                                 {"clientInfo", {{"name", "remote-test"}, {"version", "1"}}}}}},
                    run);
    INFO(init.body);
    REQUIRE(init.http_status == 200);
    std::smatch match;
    REQUIRE(std::regex_search(init.headers, match, std::regex("mcp-session-id: *([^\r\n]+)", std::regex::icase)));
    const std::string session = match[1];
    REQUIRE(mcp(credentials, {{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}}, run, session).http_status == 202);
    return session;
  }

  Json call(const std::string& credentials, const std::string& run, const std::string& session, const std::string& tool,
            const Json& arguments) const {
    auto answer = mcp(credentials,
                      {{"jsonrpc", "2.0"}, {"id", 2}, {"method", "tools/call"},
                       {"params", {{"name", tool}, {"arguments", arguments},
                                   {"_meta", {{"cordon/confidence", 0.9}, {"cordon/rationale", "the task asks"}}}}}},
                      run, session);
    INFO(answer.body);
    REQUIRE(answer.http_status == 200);
    auto response = parse_json(answer.body).value();
    REQUIRE(response.contains("result"));
    return response["result"];
  }

  TempDir scratch{"cordon-remote"};
  RemotePki pki;
  RunningAgentd stack;
  std::string url;
};

} // namespace

TEST_CASE("a remote agent with the bearer token or a client certificate calls tools through the whole gate") {
  RemoteAgentd remote;
  remote.stack.write_workspace_file("notes.txt", "meeting moved to Tuesday\n");
  for (const auto& credentials : {remote.bearer(), remote.certificate()}) {
    INFO(credentials);
    const std::string run = remote.stack.register_run("Summarise notes.txt and write summary.txt");
    const std::string session = remote.open_session(credentials, run);

    const Json read = remote.call(credentials, run, session, "fs.read", {{"path", "notes.txt"}});
    CHECK(read["isError"] == false);
    CHECK(text_of(read) == "meeting moved to Tuesday\n");
    const std::string decision = read["_meta"]["cordon/decision_id"];
    CHECK(remote.stack.gate.has_event("tool.executed", decision));

    // A write is held for a human, exactly as over the socket, and nothing is written.
    const Json held = remote.call(credentials, run, session, "fs.write", {{"path", "summary.txt"}, {"content", "Tuesday"}});
    CHECK(held["isError"] == true);
    CHECK(held["structuredContent"]["approval_id"].get<std::string>().starts_with("a-"));
    CHECK_FALSE(std::filesystem::exists(remote.stack.agentd.workspace() / "summary.txt"));
  }
  // The ledger names the credential each call came with.
  const std::string started = remote.stack.gate.events("tool.started");
  CHECK(started.find("\"principal\":\"agent:token-" + to_hex(crypto::sha256(remote.pki.token())).substr(0, 8) + "\"") !=
        std::string::npos);
  CHECK(started.find("\"principal\":\"agent:auditor-dev\"") != std::string::npos);
}

TEST_CASE("without a credential the listener answers 401, and each refusal is audited") {
  RemoteAgentd remote;
  const std::string run = remote.stack.register_run("Summarise notes.txt");
  const Json ping = {{"jsonrpc", "2.0"}, {"id", 1}, {"method", "ping"}};

  auto anonymous = remote.mcp("", ping, run);
  CHECK(anonymous.exit_status == 0);
  CHECK(anonymous.http_status == 401);
  auto wrong = remote.mcp("-H 'Authorization: Bearer " + std::string(64, '0') + "'", ping, run);
  CHECK(wrong.http_status == 401);

  // A certificate from another CA, with the same common name, fails the handshake.
  RemotePki other;
  auto stranger = remote.mcp("--cert " + other.file("auditor.crt") + " --key " + other.file("auditor.key"), ping, run);
  CHECK(stranger.exit_status != 0);
  CHECK(stranger.http_status == 0);

  CHECK(remote.stack.gate.has_event("access.denied", "bearer token not accepted"));
  CHECK(remote.stack.gate.has_event("access.denied", "a client certificate or a bearer token is required"));
  CHECK(remote.stack.gate.has_event("access.denied", "client certificate rejected"));
  CHECK(remote.stack.gate.events("access.denied").find(std::string(64, '0')) == std::string::npos);
}

TEST_CASE("a remote agent cannot register runs, read them or reinstate deletes") {
  RemoteAgentd remote;
  const std::string run = remote.stack.register_run("Summarise notes.txt");
  const std::string body = "-X POST --data-binary '{\"agent\":\"rogue\",\"task\":\"anything\"}' -H 'Content-Type: application/json'";
  for (const auto& credentials : {remote.bearer(), remote.certificate()}) {
    INFO(credentials);
    CHECK(remote.curl(credentials + " " + body, "/v1/runs").http_status == 403);
    CHECK(remote.curl(credentials, "/v1/runs/" + run).http_status == 403);
    CHECK(remote.curl(credentials, "/v1/pending").http_status == 403);
    CHECK(remote.curl(credentials + " -X POST", "/v1/pending/p-1/reinstate").http_status == 403);
    // What an agent may do: ask whether agentd is up.
    CHECK(remote.curl(credentials, "/v1/status").http_status == 200);
  }
  CHECK(remote.stack.gate.events("run.registered").find("rogue") == std::string::npos);
}

TEST_CASE("a session opened over HTTPS acts for its own run and its own credential only") {
  RemoteAgentd remote;
  const std::string mine = remote.stack.register_run("Summarise notes.txt");
  const std::string other = remote.stack.register_run("Summarise other.txt", "other-bot");
  const std::string session = remote.open_session(remote.bearer(), mine);
  auto answer = remote.mcp(remote.bearer(), {{"jsonrpc", "2.0"}, {"id", 3}, {"method", "tools/list"}}, other, session);
  CHECK(answer.http_status == 403);
  CHECK(answer.body.find("not for another run") != std::string::npos);
  // Nor is it of use to another credential, even with the right run.
  auto stolen = remote.mcp(remote.certificate(), {{"jsonrpc", "2.0"}, {"id", 4}, {"method", "tools/list"}}, mine, session);
  CHECK(stolen.http_status == 403);
  CHECK(stolen.body.find("opened by another agent") != std::string::npos);
  // An unregistered run opens no session.
  auto unknown = remote.mcp(remote.bearer(),
                            {{"jsonrpc", "2.0"}, {"id", 1}, {"method", "initialize"},
                             {"params", {{"protocolVersion", "2025-11-25"}, {"capabilities", Json::object()},
                                         {"clientInfo", {{"name", "remote-test"}, {"version", "1"}}}}}},
                            "r-00000000000000000000000000000000");
  CHECK(unknown.http_status == 403);
}

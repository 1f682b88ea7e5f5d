#include <future>
#include <initializer_list>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "common/ipc/router.h"

using namespace cordon;
using namespace cordon::ipc;

namespace {

Request make_request(Method method, std::string target) {
  Request request;
  request.method = method;
  request.method_text = std::string(method_name(method));
  request.target = target;
  REQUIRE(parse_target(request.target, request.path, request.query));
  return request;
}

Peer peer_with(std::initializer_list<std::string> roles) {
  Peer peer;
  peer.uid = 998;
  peer.principal = "tester";
  for (const auto& role : roles) peer.roles.insert(role);
  return peer;
}

// Dispatches synchronously and returns what the responder received.
Response route(const Router& router, const Request& request, const Peer& peer) {
  std::vector<Response> answers;
  router.dispatch(request, peer, Responder([&](Response response) { answers.push_back(std::move(response)); }));
  REQUIRE(answers.size() == 1);
  return answers.front();
}

nlohmann::json problem_of(const Response& response) {
  CHECK(response.content_type == "application/problem+json");
  return nlohmann::json::parse(response.body);
}

void answer_ok(const Request&, const Peer&, Responder respond) {
  respond(text_response(200, "ok"));
}

} // namespace

TEST_CASE("router sends a request to the route for its method and exact path") {
  Router router;
  router.add(Method::get, "/v1/checkpoint", {"auditor"},
             [](const Request&, const Peer&, Responder respond) { respond(text_response(200, "checkpoint")); });
  router.add(Method::post, "/v1/events", {"agentd"},
             [](const Request& request, const Peer& peer, Responder respond) {
               respond(text_response(201, request.body + " from " + peer.principal));
             });

  auto request = make_request(Method::post, "/v1/events");
  request.body = "event";
  Response response = route(router, request, peer_with({"agentd"}));
  CHECK(response.status == 201);
  CHECK(response.body == "event from tester");
  CHECK(route(router, make_request(Method::get, "/v1/checkpoint"), peer_with({"auditor"})).body ==
        "checkpoint");
}

TEST_CASE("router answers an unknown path with a 404 problem") {
  Router router;
  router.add(Method::get, "/v1/checkpoint", {"auditor"}, answer_ok);
  Response response = route(router, make_request(Method::get, "/v1/nothing"), peer_with({"auditor"}));
  CHECK(response.status == 404);
  auto problem = problem_of(response);
  CHECK(problem["type"] == "https://cordon.dev/problems/not_found");
  CHECK(problem["status"] == 404);
  CHECK(problem["title"] == "Not found");
  CHECK(problem["detail"].get<std::string>().find("/v1/nothing") != std::string::npos);
}

TEST_CASE("router answers a known path with the wrong method with 405 and Allow") {
  Router router;
  router.add(Method::get, "/v1/events", {"auditor"}, answer_ok);
  router.add(Method::post, "/v1/events", {"agentd"}, answer_ok);
  Response response = route(router, make_request(Method::delete_, "/v1/events"), peer_with({"admin"}));
  CHECK(response.status == 405);
  CHECK(response.header("allow") == "GET, POST");
  CHECK(problem_of(response)["type"] == "https://cordon.dev/problems/method_not_allowed");
}

TEST_CASE("router refuses a peer without a route's role with 403 and reports it") {
  Router router;
  bool handled = false;
  std::vector<std::string> denials;
  router.add(Method::post, "/v1/runs", {"admin"},
             [&](const Request&, const Peer&, Responder respond) {
               handled = true;
               respond(text_response(200, "ok"));
             });
  router.set_denied_hook([&](const Request& request, const Peer& peer, std::string_view reason) {
    denials.push_back(peer.principal + "|" + request.path + "|" + std::string(reason));
  });

  Response response = route(router, make_request(Method::post, "/v1/runs"), peer_with({"agentd"}));
  CHECK(response.status == 403);
  auto problem = problem_of(response);
  CHECK(problem["type"] == "https://cordon.dev/problems/permission_denied");
  CHECK(problem["detail"].get<std::string>().find("admin") != std::string::npos);
  CHECK_FALSE(handled);
  REQUIRE(denials.size() == 1);
  CHECK(denials[0].rfind("tester|/v1/runs|", 0) == 0);
}

TEST_CASE("router accepts a peer holding any one of a route's roles") {
  Router router;
  router.add(Method::post, "/v1/events", {"agentd", "approvald", "secretsd"}, answer_ok);
  CHECK(route(router, make_request(Method::post, "/v1/events"), peer_with({"secretsd"})).status == 200);
  CHECK(route(router, make_request(Method::post, "/v1/events"), peer_with({})).status == 403);
}

TEST_CASE("router matches path prefixes, longest first, after exact paths") {
  Router router;
  router.add_prefix(Method::get, "/tile/", {"auditor"},
                    [](const Request& request, const Peer&, Responder respond) {
                      respond(text_response(200, "tile " + request.path));
                    });
  router.add_prefix(Method::get, "/tile/entries/", {"auditor"},
                    [](const Request&, const Peer&, Responder respond) { respond(text_response(200, "entries")); });
  router.add(Method::get, "/tile/special", {"auditor"},
             [](const Request&, const Peer&, Responder respond) { respond(text_response(200, "special")); });
  auto auditor = peer_with({"auditor"});

  CHECK(route(router, make_request(Method::get, "/tile/8/0/x001/234"), auditor).body ==
        "tile /tile/8/0/x001/234");
  CHECK(route(router, make_request(Method::get, "/tile/entries/000.p/7"), auditor).body == "entries");
  CHECK(route(router, make_request(Method::get, "/tile/special"), auditor).body == "special");
  CHECK(route(router, make_request(Method::get, "/tiles"), auditor).status == 404);
  CHECK(route(router, make_request(Method::post, "/tile/1/2"), auditor).status == 405);
}

TEST_CASE("router turns a handler's exception into a 500 problem") {
  Router router;
  router.add(Method::get, "/boom", {"admin"},
             [](const Request&, const Peer&, Responder) { throw std::runtime_error("secret-free failure"); });
  Response response = route(router, make_request(Method::get, "/boom"), peer_with({"admin"}));
  CHECK(response.status == 500);
  CHECK(problem_of(response)["type"] == "https://cordon.dev/problems/internal");
}

TEST_CASE("responder delivers once, even when invoked twice") {
  int deliveries = 0;
  Responder respond([&](Response) { ++deliveries; });
  Responder copy = respond;
  respond(text_response(200, "first"));
  copy(text_response(200, "second"));
  CHECK(deliveries == 1);
  CHECK(copy.responded());
}

TEST_CASE("a responder dropped without answering sends a 500 problem") {
  std::vector<Response> answers;
  {
    Responder respond([&](Response response) { answers.push_back(std::move(response)); });
    Responder copy = respond;
  }
  REQUIRE(answers.size() == 1);
  CHECK(answers[0].status == 500);
}

TEST_CASE("responder may answer later from another thread") {
  Router router;
  std::vector<std::thread> workers;
  router.add(Method::post, "/v1/events", {"agentd"},
             [&](const Request&, const Peer&, Responder respond) {
               workers.emplace_back([respond] { respond(text_response(202, "durable")); });
             });
  std::promise<Response> answered;
  auto request = make_request(Method::post, "/v1/events");
  router.dispatch(request, peer_with({"agentd"}),
                  Responder([&](Response response) { answered.set_value(std::move(response)); }));
  Response response = answered.get_future().get();
  for (auto& worker : workers) worker.join();
  CHECK(response.status == 202);
}

TEST_CASE("request targets are split and percent-decoded") {
  std::string path;
  QueryMap query;
  REQUIRE(parse_target("/v1/events?from=3&kind=tool.executed&run_id=r%2D1+x&flag", path, query));
  CHECK(path == "/v1/events");
  CHECK(query.at("from") == "3");
  CHECK(query.at("kind") == "tool.executed");
  CHECK(query.at("run_id") == "r-1 x");
  CHECK(query.at("flag").empty());

  REQUIRE(parse_target("/v1/%65vents", path, query));
  CHECK(path == "/v1/events");
  CHECK(query.empty());
}

TEST_CASE("malformed request targets are refused") {
  std::string path;
  QueryMap query;
  const std::initializer_list<std::string> targets = {
      "v1/events", "http://host/v1", "/v1/%zz", "/v1/%2Fetc", "/a/../b", "/a/%2e%2e/b",
      "/a?x=1&x=2", "/a?%=1", "/a#frag", "/a%00", std::string("/a\0b", 4), "/a?x=\x01", "/a\x7f"};
  for (const std::string& target : targets) {
    INFO(target);
    auto parsed = parse_target(target, path, query);
    REQUIRE_FALSE(parsed);
    CHECK(parsed.error().code == Errc::invalid_argument);
  }
}

TEST_CASE("every error category maps to its HTTP status and problem type") {
  CHECK(http_status(Errc::invalid_argument) == 400);
  CHECK(http_status(Errc::unknown_field) == 400);
  CHECK(http_status(Errc::unauthenticated) == 401);
  CHECK(http_status(Errc::permission_denied) == 403);
  CHECK(http_status(Errc::not_found) == 404);
  CHECK(http_status(Errc::method_not_allowed) == 405);
  CHECK(http_status(Errc::conflict) == 409);
  CHECK(http_status(Errc::too_large) == 413);
  CHECK(http_status(Errc::unavailable) == 503);
  CHECK(http_status(Errc::io_error) == 500);
  CHECK(http_status(Errc::integrity) == 500);
  CHECK(http_status(Errc::internal) == 500);

  Response response = problem_response(Error{Errc::conflict, "index 7 already exists"});
  CHECK(response.status == 409);
  auto problem = nlohmann::json::parse(response.body);
  CHECK(problem["type"] == "https://cordon.dev/problems/conflict");
  CHECK(problem["detail"] == "index 7 already exists");
  CHECK(errc_from_problem_type(problem["type"].get<std::string>()) == Errc::conflict);
  CHECK(errc_from_problem_type("about:blank") == Errc::internal);
}

TEST_CASE("peer map resolves configured uids and names unknown ones by number") {
  PeerMap peers;
  REQUIRE(peers.add(998, "agentd", {"agentd"}));
  CHECK_FALSE(peers.add(998, "again", {}));
  Peer known = peers.resolve(998, 997, 42);
  CHECK(known.principal == "agentd");
  CHECK(known.has_role("agentd"));
  CHECK(known.pid == 42);
  Peer unknown = peers.resolve(1234, 1234, 7);
  CHECK(unknown.principal == "uid:1234");
  CHECK(unknown.roles.empty());
}

TEST_CASE("peer map reads [[peers]] from config") {
  auto config = ConfigFile::parse(R"(
[[peers]]
uid = 0
principal = "admin"
roles = ["admin"]

[[peers]]
user = "nobody"
principal = "agentd"
roles = ["agentd", "x"]
)", "peers.toml");
  REQUIRE(config);
  auto peers = PeerMap::from_config(*config);
  REQUIRE(peers);
  CHECK(peers->size() == 2);
  CHECK(peers->resolve(0, 0, 1).principal == "admin");
  CHECK(peers->resolve(65534, 65534, 1).has_role("x"));

  auto bad = ConfigFile::parse("[[peers]]\nuid = 5\nprincipal = \"a\"\nroles = [\"r\"]\nrole = 1\n", "bad.toml");
  REQUIRE(bad);
  auto refused = PeerMap::from_config(*bad);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message.find("peers[0].role") != std::string::npos);
}

#include <chrono>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include "common/ipc/unix_client.h"
#include "common/ipc/unix_server.h"

using namespace cordon;
using namespace cordon::ipc;
using namespace std::chrono_literals;

namespace {

struct ClientHarness {
  std::string dir;
  std::string socket_path;
  asio::io_context io;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work{io.get_executor()};
  std::shared_ptr<Router> router = std::make_shared<Router>();
  std::unique_ptr<UnixServer> server;
  std::vector<std::thread> threads;

  ClientHarness() {
    char pattern[] = "/tmp/cordon-cli-XXXXXX";
    REQUIRE(::mkdtemp(pattern) != nullptr);
    dir = pattern;
    socket_path = dir + "/c.sock";
  }

  void start(ServerLimits limits = {}) {
    PeerMap peers;
    REQUIRE(peers.add(::getuid(), "tester", {"tester"}));
    auto bound = UnixServer::bind(io, socket_path, 0600, router, std::move(peers), limits);
    if (!bound) FAIL(bound.error().message);
    server = std::move(*bound);
    for (int i = 0; i < 2; ++i) threads.emplace_back([this] { io.run(); });
  }

  ~ClientHarness() {
    server.reset();
    work.reset();
    io.stop();
    for (auto& thread : threads) thread.join();
    std::filesystem::remove_all(dir);
  }
};

} // namespace

TEST_CASE("client reconnects after the server closed its idle keep-alive connection") {
  ClientHarness harness;
  std::atomic<int> served{0};
  harness.router->add(Method::post, "/v1/events", {"tester"}, [&](const Request&, const Peer&, Responder respond) {
    ++served;
    respond(text_response(201, "ok"));
  });
  ServerLimits limits;
  limits.idle_timeout = 100ms;
  harness.start(limits);

  UnixClient client(harness.socket_path);
  REQUIRE(client.post("/v1/events", "{}")->status == 201);
  std::this_thread::sleep_for(400ms); // the server closes the idle connection meanwhile
  auto again = client.post("/v1/events", "{}");
  REQUIRE(again);
  CHECK(again->status == 201);
  CHECK(served.load() == 2);
}

TEST_CASE("client gives up on a server that does not answer in time") {
  ClientHarness harness;
  std::mutex mutex;
  std::vector<Responder> held;
  harness.router->add(Method::get, "/v1/stuck", {"tester"}, [&](const Request&, const Peer&, Responder respond) {
    std::lock_guard lock(mutex);
    held.push_back(respond);
  });
  harness.start();
  ClientOptions options;
  options.timeout = 200ms;
  UnixClient client(harness.socket_path, options);
  auto started = std::chrono::steady_clock::now();
  auto response = client.get("/v1/stuck");
  REQUIRE_FALSE(response);
  CHECK(response.error().code == Errc::unavailable);
  CHECK(std::chrono::steady_clock::now() - started < 2s);
  CHECK_FALSE(client.connected());
  std::lock_guard lock(mutex);
  for (auto& respond : held) respond(text_response(200, "too late"));
}

TEST_CASE("client reports a socket nobody listens on as unavailable") {
  UnixClient client("/tmp/cordon-no-such-dir/none.sock");
  auto response = client.get("/v1/checkpoint");
  REQUIRE_FALSE(response);
  CHECK(response.error().code == Errc::unavailable);
  CHECK(response.error().message.find("/tmp/cordon-no-such-dir/none.sock") != std::string::npos);
}

TEST_CASE("client refuses requests it cannot send intact") {
  UnixClient client("/tmp/unused.sock");
  CHECK(client.get("/v1/a b").error().code == Errc::invalid_argument);
  CHECK(client.get("v1/relative").error().code == Errc::invalid_argument);
  ClientRequest request;
  request.target = "/v1/x";
  request.headers.push_back(Header{"X-Evil", "a\r\nInjected: yes"});
  CHECK(client.request(request).error().code == Errc::invalid_argument);
}

TEST_CASE("client sends its content type and headers and reads every response header") {
  ClientHarness harness;
  harness.router->add(Method::put, "/v1/echo-headers", {"tester"}, [](const Request& request, const Peer&, Responder respond) {
    Response response = json_response(200, {{"content_type", request.content_type()},
                                             {"trace", request.header("x-trace-id")},
                                             {"body", request.body}});
    response.headers.push_back(Header{"X-Served-By", "test"});
    respond(std::move(response));
  });
  harness.start();
  UnixClient client(harness.socket_path);
  ClientRequest request;
  request.method = Method::put;
  request.target = "/v1/echo-headers";
  request.body = "a,b";
  request.content_type = "text/csv";
  request.headers.push_back(Header{"X-Trace-Id", "t-1"});
  auto response = client.request(request);
  REQUIRE(response);
  auto body = nlohmann::json::parse(response->body);
  CHECK(body["content_type"] == "text/csv");
  CHECK(body["trace"] == "t-1");
  CHECK(body["body"] == "a,b");
  CHECK(response->content_type == "application/json");
  CHECK(response->header("x-served-by") == "test");
}

TEST_CASE("client reads large responses and enforces its response limit") {
  ClientHarness harness;
  harness.router->add(Method::get, "/v1/big", {"tester"}, [](const Request&, const Peer&, Responder respond) {
    respond(text_response(200, std::string(3 << 20, 'z')));
  });
  harness.start();
  UnixClient client(harness.socket_path);
  auto response = client.get("/v1/big");
  REQUIRE(response);
  CHECK(response->body.size() == (3u << 20));

  ClientOptions small;
  small.max_response_bytes = 1 << 20;
  UnixClient limited(harness.socket_path, small);
  auto refused = limited.get("/v1/big");
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == Errc::too_large);
}

TEST_CASE("a problem response converts back into the error it describes") {
  Response response = problem_response(Error{Errc::conflict, "event 9 exists"});
  Error error = error_from_response(response);
  CHECK(error.code == Errc::conflict);
  CHECK(error.message == "HTTP 409: event 9 exists");

  Response plain = text_response(502, "bad gateway");
  CHECK(error_from_response(plain).code == Errc::internal);
  CHECK(error_from_response(plain).message == "HTTP 502");
}

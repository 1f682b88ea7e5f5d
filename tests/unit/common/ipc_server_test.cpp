#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/ipc/unix_client.h"
#include "common/ipc/unix_server.h"

using namespace cordon;
using namespace cordon::ipc;
using namespace std::chrono_literals;

namespace {

// A short, private directory under /tmp (socket paths must stay under 108 bytes).
struct TempDir {
  std::string path;
  TempDir() {
    char pattern[] = "/tmp/cordon-ipc-XXXXXX";
    REQUIRE(::mkdtemp(pattern) != nullptr);
    path = pattern;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

PeerMap this_uid_as(std::string principal, std::initializer_list<std::string> roles) {
  PeerMap peers;
  RoleSet set(roles.begin(), roles.end());
  REQUIRE(peers.add(::getuid(), std::move(principal), std::move(set)));
  return peers;
}

// A Unix server on a two-thread io_context, as a daemon runs it.
struct Harness {
  TempDir dir;
  std::string socket_path = dir.path + "/test.sock";
  asio::io_context io;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work{io.get_executor()};
  std::unique_ptr<UnixServer> server;
  std::vector<std::thread> threads;

  explicit Harness(std::shared_ptr<Router> router, ServerLimits limits = {},
                   PeerMap peers = this_uid_as("tester", {"tester"})) {
    auto bound = UnixServer::bind(io, socket_path, 0666, std::move(router), std::move(peers), limits);
    if (!bound) FAIL(bound.error().message);
    server = std::move(*bound);
    for (int i = 0; i < 2; ++i) threads.emplace_back([this] { io.run(); });
  }

  ~Harness() {
    server.reset();
    work.reset();
    io.stop();
    for (auto& thread : threads) thread.join();
  }
};

std::shared_ptr<Router> echo_router() {
  auto router = std::make_shared<Router>();
  router->add(Method::get, "/v1/whoami", {"tester"}, [](const Request&, const Peer& peer, Responder respond) {
    respond(json_response(200, {{"principal", peer.principal}, {"uid", peer.uid}, {"pid", peer.pid}}));
  });
  router->add(Method::post, "/v1/echo", {"tester"}, [](const Request& request, const Peer&, Responder respond) {
    respond(text_response(200, request.body, std::string(request.content_type())));
  });
  return router;
}

nlohmann::json problem_of(const Response& response) {
  CHECK(response.content_type == "application/problem+json");
  return nlohmann::json::parse(response.body);
}

// A raw connection for tests that need to misbehave.
struct RawSocket {
  int fd = -1;
  explicit RawSocket(const std::string& path) {
    fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strcpy(address.sun_path, path.c_str());
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  }
  ~RawSocket() { ::close(fd); }
  void send(std::string_view data) const {
    REQUIRE(::send(fd, data.data(), data.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(data.size()));
  }
  // Reads until EOF or `timeout`; `closed` tells which.
  std::string read_all(std::chrono::milliseconds timeout, bool& closed) const {
    std::string data;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    closed = false;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd entry{fd, POLLIN, 0};
      if (::poll(&entry, 1, 20) <= 0) continue;
      char chunk[4096];
      ssize_t count = ::recv(fd, chunk, sizeof chunk, 0);
      if (count <= 0) {
        closed = true;
        break;
      }
      data.append(chunk, static_cast<std::size_t>(count));
    }
    return data;
  }
};

} // namespace

TEST_CASE("unix server attributes each request to the peer's uid from SO_PEERCRED") {
  Harness harness(echo_router());
  UnixClient client(harness.socket_path);
  auto response = client.get("/v1/whoami");
  REQUIRE(response);
  CHECK(response->status == 200);
  auto body = nlohmann::json::parse(response->body);
  CHECK(body["principal"] == "tester");
  CHECK(body["uid"] == ::getuid());
  CHECK(body["pid"] == ::getpid());
}

TEST_CASE("unix server answers unknown paths, wrong methods and missing roles with problems") {
  auto router = echo_router();
  router->add(Method::post, "/v1/admin", {"admin"}, [](const Request&, const Peer&, Responder respond) {
    respond(text_response(200, "should not run"));
  });
  std::vector<std::string> denied;
  std::mutex denied_mutex;
  router->set_denied_hook([&](const Request& request, const Peer& peer, std::string_view) {
    std::lock_guard lock(denied_mutex);
    denied.push_back(peer.principal + " " + request.path);
  });
  Harness harness(router);
  UnixClient client(harness.socket_path);

  auto missing = client.get("/v1/missing");
  REQUIRE(missing);
  CHECK(missing->status == 404);
  CHECK(problem_of(*missing)["type"] == "https://cordon.dev/problems/not_found");

  auto wrong_method = client.request(Method::put, "/v1/echo", "x");
  REQUIRE(wrong_method);
  CHECK(wrong_method->status == 405);
  CHECK(wrong_method->header("Allow") == "POST");

  auto forbidden = client.post("/v1/admin", "{}");
  REQUIRE(forbidden);
  CHECK(forbidden->status == 403);
  CHECK(problem_of(*forbidden)["type"] == "https://cordon.dev/problems/permission_denied");
  std::lock_guard lock(denied_mutex);
  REQUIRE(denied.size() == 1);
  CHECK(denied[0] == "tester /v1/admin");
}

TEST_CASE("a client running under another uid is refused with 403") {
  REQUIRE(::getuid() == 0); // the suite runs as root so that it can become another user
  auto router = echo_router();
  std::atomic<int> denials{0};
  std::string denied_principal;
  router->set_denied_hook([&](const Request&, const Peer& peer, std::string_view) {
    denied_principal = peer.principal;
    ++denials;
  });
  Harness harness(router);
  REQUIRE(::chmod(harness.dir.path.c_str(), 0755) == 0);

  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // Exit codes tell the parent what happened: 0 = refused with a 403 problem.
    if (::setresgid(65534, 65534, 65534) != 0 || ::setresuid(65534, 65534, 65534) != 0) ::_exit(10);
    UnixClient client(harness.socket_path);
    auto response = client.get("/v1/whoami");
    if (!response) ::_exit(11);
    if (response->status != 403) ::_exit(12);
    if (response->content_type != "application/problem+json") ::_exit(13);
    if (response->body.find("https://cordon.dev/problems/permission_denied") == std::string::npos) ::_exit(14);
    ::_exit(0);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(denials.load() == 1);
  CHECK(denied_principal == "uid:65534");
}

TEST_CASE("an oversized body is refused with 413 before the handler runs") {
  auto router = std::make_shared<Router>();
  std::atomic<int> calls{0};
  router->add(Method::post, "/v1/events", {"tester"}, [&](const Request&, const Peer&, Responder respond) {
    ++calls;
    respond(text_response(200, "stored"));
  });
  // The refusal is reported, with the request's method and path and the peer, for the daemon's
  // ledger.
  std::mutex mutex;
  std::vector<std::string> reported;
  router->set_refused_hook([&](const Request& request, const Peer& peer, int status, std::string_view reason) {
    std::lock_guard lock(mutex);
    reported.push_back(std::string(method_name(request.method)) + " " + request.path + " " + peer.principal + " " +
                       std::to_string(status) + " " + std::string(reason));
  });
  ServerLimits limits;
  limits.max_body_bytes = 1024;
  Harness harness(router, limits);
  UnixClient client(harness.socket_path);

  auto refused = client.post("/v1/events", std::string(4096, 'x'));
  REQUIRE(refused);
  CHECK(refused->status == 413);
  CHECK(problem_of(*refused)["type"] == "https://cordon.dev/problems/too_large");
  CHECK(calls.load() == 0);
  {
    std::lock_guard lock(mutex);
    REQUIRE(reported.size() == 1);
    CHECK(reported[0] == "POST /v1/events tester 413 request body exceeds 1024 bytes");
  }

  auto accepted = client.post("/v1/events", std::string(1024, 'x'));
  REQUIRE(accepted);
  CHECK(accepted->status == 200);
  CHECK(calls.load() == 1);
}

TEST_CASE("an oversized body is refused whether declared or chunked, sent in one write") {
  auto router = std::make_shared<Router>();
  std::atomic<int> calls{0};
  router->add(Method::post, "/v1/events", {"tester"}, [&](const Request&, const Peer&, Responder respond) {
    ++calls;
    respond(text_response(200, "stored"));
  });
  ServerLimits limits;
  limits.max_body_bytes = 1024;
  Harness harness(router, limits);

  RawSocket declared(harness.socket_path);
  declared.send("POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n" + std::string(2000, 'd'));
  bool closed = false;
  CHECK(declared.read_all(2s, closed).rfind("HTTP/1.1 413 ", 0) == 0);

  RawSocket chunked(harness.socket_path);
  chunked.send("POST /v1/events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
               "300\r\n" + std::string(0x300, 'c') + "\r\n300\r\n" + std::string(0x300, 'c') +
               "\r\n0\r\n\r\n");
  CHECK(chunked.read_all(2s, closed).rfind("HTTP/1.1 413 ", 0) == 0);
  CHECK(calls.load() == 0);
}

TEST_CASE("an oversized header is refused with 431") {
  ServerLimits limits;
  limits.max_header_bytes = 2048;
  Harness harness(echo_router(), limits);
  UnixClient client(harness.socket_path);
  ClientRequest request;
  request.target = "/v1/whoami";
  request.headers.push_back(Header{"X-Padding", std::string(4096, 'p')});
  auto refused = client.request(request);
  REQUIRE(refused);
  CHECK(refused->status == 431);
  CHECK(problem_of(*refused)["type"] == "https://cordon.dev/problems/too_large");
}

TEST_CASE("a malformed request is answered with 400 and the connection closed") {
  auto router = echo_router();
  std::atomic<int> refusals{0};
  router->set_refused_hook([&](const Request&, const Peer&, int status, std::string_view) {
    if (status == 400) ++refusals;
  });
  Harness harness(router);
  RawSocket raw(harness.socket_path);
  raw.send("GET /v1/whoami HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n");
  bool closed = false;
  std::string reply = raw.read_all(2s, closed);
  CHECK(reply.rfind("HTTP/1.1 400 ", 0) == 0);
  CHECK(reply.find("Connection: close") != std::string::npos);
  CHECK(closed);
  CHECK(refusals.load() == 1);
}

TEST_CASE("a request target the server cannot decode is answered with 400") {
  Harness harness(echo_router());
  UnixClient client(harness.socket_path);
  auto response = client.get("/v1/whoami?a=1&a=2");
  REQUIRE(response);
  CHECK(response->status == 400);
  CHECK(problem_of(*response)["type"] == "https://cordon.dev/problems/invalid_argument");
}

TEST_CASE("an idle connection is closed after the idle timeout") {
  ServerLimits limits;
  limits.idle_timeout = 200ms;
  Harness harness(echo_router(), limits);

  RawSocket silent(harness.socket_path);
  bool closed = false;
  auto started = std::chrono::steady_clock::now();
  silent.read_all(3s, closed);
  CHECK(closed);
  CHECK(std::chrono::steady_clock::now() - started < 2s);

  // A request trickling in slower than the timeout is cut off too.
  RawSocket slow(harness.socket_path);
  slow.send("GET /v1/whoami HTTP/1.1\r\n");
  std::string reply = slow.read_all(3s, closed);
  CHECK(closed);
  CHECK(reply.empty());
}

TEST_CASE("time spent in a handler does not count against the idle timeout") {
  auto router = std::make_shared<Router>();
  std::thread worker;
  router->add(Method::get, "/slow", {"tester"}, [&worker](const Request&, const Peer&, Responder respond) {
    worker = std::thread([respond] {
      std::this_thread::sleep_for(500ms);
      respond(text_response(200, "late"));
    });
  });
  ServerLimits limits;
  limits.idle_timeout = 150ms;
  Harness harness(router, limits);
  // Joined before the server goes (also when a check fails): the worker drops its responder
  // only as its thread ends.
  struct Joiner {
    std::thread& thread;
    ~Joiner() {
      if (thread.joinable()) thread.join();
    }
  } joiner{worker};
  UnixClient client(harness.socket_path);
  auto response = client.get("/slow");
  REQUIRE(response);
  CHECK(response->body == "late");
}

TEST_CASE("a responder invoked from another thread answers the request") {
  auto router = std::make_shared<Router>();
  std::vector<std::thread> workers;
  std::mutex workers_mutex;
  router->add(Method::post, "/v1/events", {"tester"}, [&](const Request& request, const Peer&, Responder respond) {
    std::string body = request.body; // the request is only valid until the answer
    std::lock_guard lock(workers_mutex);
    workers.emplace_back([respond, body] {
      std::this_thread::sleep_for(20ms);
      respond(text_response(201, "durable:" + body));
    });
  });
  {
    Harness harness(router);
    UnixClient client(harness.socket_path);
    for (int i = 0; i < 5; ++i) {
      auto response = client.post("/v1/events", std::to_string(i));
      REQUIRE(response);
      CHECK(response->status == 201);
      CHECK(response->body == "durable:" + std::to_string(i));
    }
    // Joined before the server and its io_context go: a worker drops its copy of the responder
    // only as its thread ends, which may be after the client already has the answer.
    for (auto& worker : workers) worker.join();
  }
}

TEST_CASE("keep-alive carries many requests over one connection") {
  Harness harness(echo_router());
  UnixClient client(harness.socket_path);
  for (int i = 0; i < 2000; ++i) {
    auto response = client.post("/v1/echo", "n=" + std::to_string(i), "text/plain");
    REQUIRE(response);
    REQUIRE(response->status == 200);
    REQUIRE(response->body == "n=" + std::to_string(i));
  }
  CHECK(harness.server->connection_count() == 1);
  CHECK(client.connected());
}

TEST_CASE("pipelined requests are answered in order") {
  Harness harness(echo_router());
  RawSocket raw(harness.socket_path);
  std::string requests;
  for (int i = 0; i < 3; ++i) {
    std::string body = "req" + std::to_string(i);
    requests += "POST /v1/echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: " +
                std::to_string(body.size()) + "\r\n\r\n" + body;
  }
  requests += "GET /v1/whoami HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  raw.send(requests);
  bool closed = false;
  std::string replies = raw.read_all(3s, closed);
  CHECK(closed);
  auto first = replies.find("req0");
  auto second = replies.find("req1");
  auto third = replies.find("req2");
  auto last = replies.find("\"principal\"");
  REQUIRE(first != std::string::npos);
  CHECK(first < second);
  CHECK(second < third);
  CHECK(third < last);
  CHECK(last != std::string::npos);
}

TEST_CASE("many concurrent clients are all served") {
  Harness harness(echo_router());
  std::atomic<int> failures{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 16; ++t) {
    clients.emplace_back([&, t] {
      UnixClient client(harness.socket_path);
      for (int i = 0; i < 200; ++i) {
        std::string body = std::to_string(t) + ":" + std::to_string(i);
        auto response = client.post("/v1/echo", body, "text/plain");
        if (!response || response->status != 200 || response->body != body) ++failures;
      }
    });
  }
  for (auto& client : clients) client.join();
  CHECK(failures.load() == 0);
}

TEST_CASE("at the connection limit the server stops accepting until a connection closes") {
  ServerLimits limits;
  limits.max_connections = 2;
  Harness harness(echo_router(), limits);
  UnixClient first(harness.socket_path), second(harness.socket_path);
  REQUIRE(first.get("/v1/whoami"));
  REQUIRE(second.get("/v1/whoami"));

  ClientOptions quick;
  quick.timeout = 300ms;
  UnixClient third(harness.socket_path, quick);
  auto waiting = third.get("/v1/whoami");
  REQUIRE_FALSE(waiting);
  CHECK(waiting.error().code == Errc::unavailable);

  first.close();
  ClientOptions patient;
  patient.timeout = 5s;
  UnixClient fourth(harness.socket_path, patient);
  auto served = fourth.get("/v1/whoami");
  REQUIRE(served);
  CHECK(served->status == 200);
}

TEST_CASE("a handler's invalid header field becomes a 500 problem") {
  auto router = std::make_shared<Router>();
  router->add(Method::get, "/inject", {"tester"}, [](const Request&, const Peer&, Responder respond) {
    Response response = text_response(200, "x");
    response.headers.push_back(Header{"X-Split", "a\r\nSet-Cookie: evil"});
    respond(std::move(response));
  });
  Harness harness(router);
  UnixClient client(harness.socket_path);
  auto response = client.get("/inject");
  REQUIRE(response);
  CHECK(response->status == 500);
  CHECK(response->header("Set-Cookie").empty());
}

TEST_CASE("binding replaces a stale socket file and refuses a live one") {
  TempDir dir;
  std::string path = dir.path + "/s.sock";
  // A socket file whose process is gone: bound, then closed without unlinking.
  int stale = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strcpy(address.sun_path, path.c_str());
  REQUIRE(::bind(stale, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  ::close(stale);

  asio::io_context io;
  auto router = echo_router();
  auto first = UnixServer::bind(io, path, 0600, router, PeerMap{});
  REQUIRE(first);
  struct stat status {};
  REQUIRE(::stat(path.c_str(), &status) == 0);
  CHECK((status.st_mode & 0777) == 0600);

  auto second = UnixServer::bind(io, path, 0600, router, PeerMap{});
  REQUIRE_FALSE(second);
  CHECK(second.error().code == Errc::conflict);

  (*first)->stop();
  CHECK_FALSE(std::filesystem::exists(path));
}

TEST_CASE("binding refuses to replace a file that is not a socket") {
  TempDir dir;
  std::string path = dir.path + "/plain";
  { std::ofstream(path) << "data"; }
  asio::io_context io;
  auto bound = UnixServer::bind(io, path, 0600, echo_router(), PeerMap{});
  REQUIRE_FALSE(bound);
  CHECK(std::filesystem::exists(path));
}

TEST_CASE("binding refuses a socket path of 108 bytes or more") {
  asio::io_context io;
  auto bound = UnixServer::bind(io, "/tmp/" + std::string(110, 'x'), 0600, echo_router(), PeerMap{});
  REQUIRE_FALSE(bound);
  CHECK(bound.error().code == Errc::invalid_argument);
}

TEST_CASE("an adopted listening socket is served") {
  TempDir dir;
  std::string path = dir.path + "/adopted.sock";
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strcpy(address.sun_path, path.c_str());
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  REQUIRE(::listen(fd, 16) == 0);

  asio::io_context io;
  auto server = UnixServer::adopt(io, fd, echo_router(), this_uid_as("tester", {"tester"}));
  REQUIRE(server);
  std::thread runner([&] { io.run(); });
  UnixClient client(path);
  auto response = client.get("/v1/whoami");
  (*server)->stop();
  runner.join();
  REQUIRE(response);
  CHECK(response->status == 200);
}

TEST_CASE("adopting something other than a listening Unix socket fails") {
  asio::io_context io;
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  auto adopted = UnixServer::adopt(io, fds[0], echo_router(), PeerMap{});
  REQUIRE_FALSE(adopted);
  CHECK(adopted.error().code == Errc::invalid_argument);
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST_CASE("stopping the server closes idle connections") {
  Harness harness(echo_router());
  RawSocket idle(harness.socket_path);
  std::this_thread::sleep_for(50ms);
  CHECK(harness.server->connection_count() == 1);
  harness.server->stop();
  bool closed = false;
  idle.read_all(2s, closed);
  CHECK(closed);
  CHECK_FALSE(std::filesystem::exists(harness.socket_path));
}

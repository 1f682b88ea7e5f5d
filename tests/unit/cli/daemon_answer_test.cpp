// cordonctl's reading of a daemon's answer: unreachable, an unexpected status, a body.
#include <catch2/catch.hpp>

#include "cli/daemon_answer.h"

using namespace cordon;
using namespace cordon::cli;

namespace {

Result<ipc::Response> answered(int status, std::string body, std::string content_type = "application/json") {
  ipc::Response response;
  response.status = status;
  response.body = std::move(body);
  response.content_type = std::move(content_type);
  return response;
}

Result<ipc::Response> unreachable() {
  return fail(Errc::unavailable, "cannot connect to /run/cordon/x.sock: No such file or directory");
}

} // namespace

TEST_CASE("an unreachable daemon is named, with the transport's code and reason") {
  auto body = answer_body(unreachable(), "secretsd");
  REQUIRE_FALSE(body);
  CHECK(body.error().code == Errc::unavailable);
  CHECK(body.error().message == "cannot reach secretsd: cannot connect to /run/cordon/x.sock: No such file or directory");
  auto bare = answer_body(unreachable(), "");
  REQUIRE_FALSE(bare);
  CHECK(bare.error().message == "cannot connect to /run/cordon/x.sock: No such file or directory");
}

TEST_CASE("an answer with another status than expected is the daemon's problem, its detail kept") {
  auto body = answer_body(answered(409, R"({"type":"about:blank","title":"Conflict","status":409,"detail":"the name is taken"})",
                                   "application/problem+json"),
                          "secretsd", 201);
  REQUIRE_FALSE(body);
  CHECK_THAT(body.error().message, Catch::Contains("409") && Catch::Contains("the name is taken"));
  CHECK_FALSE(answer_body(answered(200, "{}"), "secretsd", 201)); // a success, but not the expected one
}

TEST_CASE("the expected status gives the body, and answer_json parses it") {
  auto body = answer_body(answered(201, "created"), "agentd", 201);
  REQUIRE(body);
  CHECK(*body == "created");
  auto json = answer_json(answered(200, R"({"mode":"live"})"), "approvald");
  REQUIRE(json);
  CHECK(json->value("mode", "") == "live");
  CHECK_FALSE(answer_json(answered(200, "not json"), "approvald"));
}

// Bad input to auditd's Unix socket: each gets a 4xx problem body and changes nothing.
#include <thread>

#include <sys/wait.h>
#include <unistd.h>

#include "tests/integration/auditd/helpers.h"
#include "tests/support/as_uid.h"

using namespace cordon;
using namespace cordon::testing;


TEST_CASE("malformed JSON is refused with a 400 problem and changes nothing") {
  RunningAuditd auditd;
  const auto before = auditd.client.get("/v1/events")->body;
  for (const char* body : {"{", "not json", R"({"kind":"a.b",})", "[]", "\"string\"", "42", R"({"kind":"a.b","kind":"a.c","actor":{"type":"agent","id":"x"}})"}) {
    INFO(body);
    require_problem(auditd.client.post("/v1/events", body), 400, "invalid_argument");
  }
  CHECK(auditd.client.get("/v1/events")->body == before);
}

TEST_CASE("events with unknown fields or invalid values are refused and change nothing") {
  RunningAuditd auditd;
  const auto before = tree_size(auditd.client);
  require_problem(auditd.client.post("/v1/events", R"({"kind":"a.b","actor":{"type":"agent","id":"x"},"extra":1})"), 400, "unknown_field");
  require_problem(auditd.client.post("/v1/events", R"({"kind":"a.b","actor":{"type":"agent","id":"x","role":"admin"}})"), 400, "unknown_field");
  require_problem(auditd.client.post("/v1/events", R"({"kind":"nodot","actor":{"type":"agent","id":"x"}})"), 400, "invalid_argument");
  require_problem(auditd.client.post("/v1/events", R"({"kind":"a.b","actor":{"type":"robot","id":"x"}})"), 400, "invalid_argument");
  require_problem(auditd.client.post("/v1/events", R"({"kind":"a.b","actor":{"type":"agent","id":""}})"), 400, "invalid_argument");
  require_problem(auditd.client.post("/v1/events", R"({"kind":"a.b","actor":{"type":"agent","id":"x"},"data":[1]})"), 400, "invalid_argument");
  require_problem(auditd.client.post("/v1/events", R"({"kind":"a.b","actor":{"type":"agent","id":"x"},"data":{"a":1},"sensitive":["/missing"]})"), 400, "invalid_argument");
  // One bad event in a batch refuses the whole batch.
  require_problem(auditd.client.post("/v1/events", "[" + event_body("a.b", 1) + R"(,{"kind":"a.b"}])"), 400, "invalid_argument");
  CHECK(tree_size(auditd.client) == before);
}

TEST_CASE("an event over 64 KiB and a body over the request limit are refused with 413") {
  RunningAuditd auditd;
  const auto before = tree_size(auditd.client);
  const std::string big(70 * 1024, 'x');
  require_problem(auditd.client.post("/v1/events", R"({"kind":"a.b","actor":{"type":"agent","id":"x"},"data":{"blob":")" + big + "\"}}"), 413, "too_large");
  const std::string huge(17 * 1024 * 1024, ' ');
  auto response = auditd.client.post("/v1/events", huge);
  REQUIRE(response);
  CHECK(response->status == 413);
  ipc::UnixClient fresh(auditd.process.socket_path());
  CHECK(tree_size(fresh) == before);
}

TEST_CASE("wrong methods get 405 with Allow, unknown paths 404, and a wrong content type 400") {
  RunningAuditd auditd;
  const auto before = tree_size(auditd.client);
  auto put = auditd.client.request(ipc::Method::put, "/v1/events", event_body("a.b", 1), "application/json");
  require_problem(put, 405, "method_not_allowed");
  CHECK(put->header("allow").find("POST") != std::string_view::npos);
  require_problem(auditd.client.request(ipc::Method::delete_, "/v1/checkpoint"), 405, "method_not_allowed");
  require_problem(auditd.client.post("/v1/checkpoint", "{}"), 405, "method_not_allowed");
  require_problem(auditd.client.get("/v1/nothing"), 404, "not_found");
  require_problem(auditd.client.post("/v1/events", event_body("a.b", 1), "text/plain"), 400, "invalid_argument");
  CHECK(tree_size(auditd.client) == before);
}

TEST_CASE("out-of-range proof sizes and event ranges are refused with 400") {
  RunningAuditd auditd;
  const auto size = tree_size(auditd.client);
  const auto beyond = std::to_string(size + 1);
  for (const std::string& target : {"/v1/proof/inclusion?index=0&size=" + beyond,
                                   "/v1/proof/inclusion?index=" + std::to_string(size) + "&size=" + std::to_string(size),
                                   std::string("/v1/proof/inclusion?index=0"),
                                   std::string("/v1/proof/inclusion?index=-1&size=1"),
                                   std::string("/v1/proof/inclusion?index=0&size=1&extra=1"),
                                   std::string("/v1/proof/consistency?old=0&new=1"),
                                   "/v1/proof/consistency?old=1&new=" + beyond,
                                   std::string("/v1/proof/consistency?old=2&new=1"),
                                   std::string("/v1/proof/consistency?old=01&new=1"),
                                   "/v1/events?from=" + beyond,
                                   std::string("/v1/events?from=1&to=0"),
                                   std::string("/v1/events?limit=0"),
                                   std::string("/v1/events?from=1&from=2")}) {
    INFO(target);
    auto response = auditd.client.get(target);
    REQUIRE(response);
    CHECK(response->status == 400);
    CHECK(response->content_type == "application/problem+json");
  }
  CHECK(tree_size(auditd.client) == size);
}

TEST_CASE("a peer whose uid holds no writing role is refused with 403 and the refusal is audited") {
  RunningAuditd auditd;
  // Let other users reach the socket (mode 0666 in the test config): only the role check stops them.
  std::filesystem::permissions(auditd.directory.path(), std::filesystem::perms(0755));
  const auto before = tree_size(auditd.client);
  // uid 65534 is mapped to principal "stranger" without roles; uid 65533 is not mapped at all.
  CHECK(status_as_uid(auditd.process.socket_path(), 65534, ipc::Method::post, "/v1/events", event_body("a.b", 1)) == 403);
  CHECK(status_as_uid(auditd.process.socket_path(), 65533, ipc::Method::get, "/v1/events", "") == 403);
  // Nothing the strangers sent is in the ledger; each refusal is, as an access.denied event.
  // The refusal is answered at once and recorded by the group commit right after.
  auto after = tree_size(auditd.client);
  for (int i = 0; i < 200 && after < before + 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    after = tree_size(auditd.client);
  }
  REQUIRE(after == before + 2);
  auto denied = auditd.client.get("/v1/events?kind=access.denied")->body;
  CHECK(denied.find(R"("principal":"stranger")") != std::string::npos);
  CHECK(denied.find(R"("principal":"uid:65533")") != std::string::npos);
  CHECK(denied.find(R"("source":"auditd")") != std::string::npos);
  CHECK(auditd.client.get("/v1/events?kind=a.b")->body.empty());
}

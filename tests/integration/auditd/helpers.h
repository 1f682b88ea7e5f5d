#pragma once

#include <string>

#include <catch2/catch.hpp>

#include "common/ipc/unix_client.h"
#include "common/json.h"
#include "tests/support/auditd_process.h"
#include "tests/support/problem_check.h"
#include "tests/support/temp_dir.h"

namespace cordon::testing {

// A started auditd in a fresh directory, and a client on its socket.
struct RunningAuditd {
  explicit RunningAuditd(AuditdProcessOptions options = {})
      : process([&] {
          if (options.directory.empty()) options.directory = directory.path();
          return options;
        }()) {
    auto started = process.start();
    INFO((started ? std::string() : started.error().message));
    REQUIRE(started.has_value());
  }
  TempDir directory{"cordon-it"};
  AuditdProcess process;
  ipc::UnixClient client{process.socket_path()};
};

inline std::string event_body(const std::string& kind, int n) {
  return R"({"kind":")" + kind + R"(","actor":{"type":"agent","id":"bot"},"run_id":"r-)" +
         std::to_string(n % 7) + R"(","data":{"n":)" + std::to_string(n) + "}}";
}

inline Json get_json(ipc::UnixClient& client, const std::string& target) {
  auto response = client.get(target);
  REQUIRE(response);
  INFO(target << " -> " << response->status << " " << response->body);
  REQUIRE(response->status == 200);
  auto json = parse_json(response->body);
  REQUIRE(json);
  return *json;
}

inline std::uint64_t tree_size(ipc::UnixClient& client) {
  return get_json(client, "/v1/status")["size"].get<std::uint64_t>();
}

} // namespace cordon::testing

#pragma once

#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "common/decision/decision_packet.h"
#include "common/encoding.h"
#include "common/ipc/unix_client.h"
#include "common/json.h"
#include "common/tools/tool_catalog.h"
#include "tests/support/approvald_process.h"
#include "tests/support/auditd_process.h"
#include "tests/support/problem_check.h"
#include "tests/support/secretsd_process.h"
#include "tests/support/temp_dir.h"

namespace cordon::testing {

// The constitution most tests run under: reads allowed, file writes held for a reviewer,
// deletes of the secrets directory denied.
inline const char* test_constitution = R"(
[[rule]]
id = "read-files"
description = "Reading workspace files is safe."
effect = "allow"
tools = ["fs.read"]

[[rule]]
id = "http-get"
description = "GET requests are safe."
effect = "allow"
tools = ["http.request"]
conditions.equals = { "arguments.method" = "GET" }

[[rule]]
id = "read-sql"
description = "Read-only SQL is safe."
effect = "allow"
tools = ["sql.query"]
conditions.equals = { "sql.read_only" = true }

[[rule]]
id = "review-writes"
description = "A reviewer approves writes."
effect = "require_approval"
tools = ["fs.write"]
approval = { count = 1, group = "reviewers" }

[[rule]]
id = "no-secrets"
description = "Nothing under secrets/."
effect = "deny"
tools = ["fs.*"]
conditions.prefix = { "arguments.path" = "secrets/" }
)";

// auditd, secretsd and approvald in one fresh directory; this process's uid holds every role.
struct RunningGate {
  explicit RunningGate(ApprovaldProcessOptions options = {}, const std::string& constitution = test_constitution)
      : auditd([&] {
          AuditdProcessOptions audit_options;
          audit_options.directory = directory.path();
          return audit_options;
        }()),
        secretsd([&] {
          SecretsdProcessOptions secrets_options;
          secrets_options.directory = directory.path();
          secrets_options.audit_socket = auditd.socket_path();
          return secrets_options;
        }()),
        approvald([&] {
          options.directory = directory.path();
          if (options.audit_socket.empty()) options.audit_socket = auditd.socket_path();
          options.secretsd_socket = secretsd.socket_path();
          if (options.constitution_dir.empty()) {
            options.constitution_dir = directory.path() / "constitution.d";
            std::filesystem::create_directories(options.constitution_dir);
            std::ofstream(options.constitution_dir / "10-test.toml") << constitution;
          }
          return options;
        }()) {
    auto audit_started = auditd.start();
    INFO((audit_started ? std::string() : audit_started.error().message));
    REQUIRE(audit_started);
    auto secrets_started = secretsd.start();
    INFO((secrets_started ? std::string() : secrets_started.error().message));
    REQUIRE(secrets_started);
    auto started = approvald.start();
    INFO((started ? std::string() : started.error().message));
    REQUIRE(started);
  }
  TempDir directory{"cordon-ap"};
  AuditdProcess auditd;
  SecretsdProcess secretsd;
  ApprovaldProcess approvald;
  ipc::UnixClient gate{approvald.socket_path()};
  ipc::UnixClient secrets{secretsd.socket_path()};
  ipc::UnixClient audit{auditd.socket_path()};

  std::string events(const std::string& kind) {
    auto response = audit.get("/v1/events?kind=" + kind);
    REQUIRE(response);
    return response->body;
  }
  // The ledger's events of `kind`, parsed, in ledger order.
  std::vector<Json> event_list(const std::string& kind) {
    std::vector<Json> out;
    const std::string body = events(kind);
    std::size_t start = 0;
    while (start < body.size()) {
      const std::size_t end = std::min(body.find('\n', start), body.size());
      if (end > start) out.push_back(parse_json(body.substr(start, end - start)).value());
      start = end + 1;
    }
    return out;
  }
  // Waits (up to 2 s) until the ledger holds an event of `kind` whose leaf contains `needle`.
  bool has_event(const std::string& kind, const std::string& needle) {
    for (int i = 0; i < 200; ++i) {
      if (events(kind).find(needle) != std::string::npos) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }
  // The decision key's public key, as secretsd lists it.
  Bytes decision_public_key() {
    auto keys = parse_json(secrets.get("/v1/keys")->body).value();
    for (const auto& key : keys["keys"])
      if (key["name"] == "decision") return from_base64(key["public_key"].get<std::string>()).value();
    FAIL("secretsd lists no decision key");
    return {};
  }
};

// A proposal of `tool` with `arguments`, the catalog's pin and a confident agent.
inline Json proposal(const std::string& tool, const Json& arguments, std::int64_t confidence_bp = 9000) {
  const auto* spec = tools::find_tool(tool);
  return {{"run_id", "r-1"},
          {"agent", "support-bot"},
          {"tool", tool},
          {"tool_pin", spec ? tools::tool_pin(*spec) : "sha256:00"},
          {"arguments", arguments},
          {"target", nullptr},
          {"confidence_bp", confidence_bp},
          {"rationale", "the task asks for it"},
          {"observed", {{"untrusted_spans", 0}, {"injection_flags", Json::array()}}}};
}

// {"tool", "tool_pin", "arguments", "target"} of a proposal: what its digest covers.
inline Json action_of(const Json& proposal) {
  return {{"tool", proposal["tool"]}, {"tool_pin", proposal["tool_pin"]}, {"arguments", proposal["arguments"]},
          {"target", proposal["target"]}};
}

} // namespace cordon::testing

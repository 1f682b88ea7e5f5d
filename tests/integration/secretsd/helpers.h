#pragma once

#include <string>
#include <thread>

#include <catch2/catch.hpp>

#include "common/clock.h"
#include "common/crypto.h"
#include "common/decision/decision_packet.h"
#include "common/encoding.h"
#include "common/ipc/unix_client.h"
#include "common/json.h"
#include "tests/support/auditd_process.h"
#include "tests/support/secretsd_process.h"
#include "tests/support/problem_check.h"
#include "tests/support/temp_dir.h"

namespace cordon::testing {

// auditd and secretsd in one fresh directory; this process's uid holds every role on both.
struct RunningSecretsd {
  explicit RunningSecretsd(SecretsdProcessOptions options = {}, bool start_secretsd = true)
      : auditd([&] {
          AuditdProcessOptions audit_options;
          audit_options.directory = directory.path();
          return audit_options;
        }()),
        secretsd([&] {
          options.directory = directory.path();
          options.audit_socket = auditd.socket_path();
          return options;
        }()) {
    auto audit_started = auditd.start();
    INFO((audit_started ? std::string() : audit_started.error().message));
    REQUIRE(audit_started);
    if (start_secretsd) {
      auto started = secretsd.start();
      INFO((started ? std::string() : started.error().message));
      REQUIRE(started);
    }
  }
  TempDir directory{"cordon-sd"};
  AuditdProcess auditd;
  SecretsdProcess secretsd;
  ipc::UnixClient client{secretsd.socket_path()};
  ipc::UnixClient audit{auditd.socket_path()};

  // The events of `kind` in the ledger, one JSON leaf per line ("" when none).
  std::string events(const std::string& kind) {
    auto response = audit.get("/v1/events?kind=" + kind);
    REQUIRE(response);
    return response->body;
  }
};

inline Json http_action(const std::string& url = "https://api.example.com/") {
  return {{"tool", "http.request"}, {"tool_pin", "sha256:01"}, {"arguments", {{"url", url}}}, {"target", nullptr}};
}

// A decision for `action`, as approvald would make it.
struct PacketOptions {
  std::string tenant = "test";
  std::string verdict = "allow";
  std::string mode = "live";
  std::chrono::seconds valid_for{120};
  std::chrono::seconds issued_ago{0};
};

inline Json decision_for(const Json& action, const PacketOptions& options = {}, const std::string& digest_tenant = "test") {
  static int counter = 0;
  const auto now = std::chrono::system_clock::now() - options.issued_ago;
  return {{"id", "d-" + std::to_string(++counter)}, {"tenant", options.tenant},
          {"action_digest", decision::action_digest(digest_tenant, action).value()},
          {"verdict", options.verdict}, {"mode", options.mode}, {"rules", {"allow-http"}},
          {"policy_version", "sha256:00"}, {"approval", nullptr},
          {"issued_at", format_rfc3339_micros(now)},
          {"expires_at", format_rfc3339_micros(now + options.valid_for)},
          {"nonce", to_hex(crypto::random_bytes(16).value())}};
}

// The body of POST /v1/sign that asks the decision key to sign `decision`.
inline std::string decision_sign_request(const Json& decision) {
  const auto message = decision::decision_signing_bytes(decision).value();
  return Json{{"key", "decision"}, {"message_base64", to_base64(as_bytes(message))}}.dump();
}

// A decision for `action`, signed through secretsd's oracle as approvald would.
inline Json signed_packet(ipc::UnixClient& secretsd, const Json& action, const PacketOptions& options = {},
                          const std::string& digest_tenant = "test") {
  const Json decision = decision_for(action, options, digest_tenant);
  auto signature = json_of(secretsd.post("/v1/sign", decision_sign_request(decision)), 200);
  return {{"decision", decision}, {"signature", signature["signature"]}, {"key_id", signature["key_id"]}};
}

inline void put_secret(ipc::UnixClient& secretsd, const std::string& name, const std::string& value,
                       const std::vector<std::string>& tools = {"http.request"}) {
  const Json body = {{"value_base64", to_base64(as_bytes(value))}, {"tools", tools}};
  json_of(secretsd.request(ipc::Method::put, "/v1/secrets/" + name, body.dump()), 201);
}

inline Result<ipc::Response> lease(ipc::UnixClient& secretsd, const Json& packet, const Json& action, const std::string& secret) {
  const Json body = {{"packet", packet}, {"action", action}, {"secret", secret}, {"run_id", "r-1"}};
  return secretsd.post("/v1/leases", body.dump());
}

// Waits (up to 2 s) until auditd's ledger holds an event of `kind` whose leaf contains `needle`.
inline bool wait_for_event_in(ipc::UnixClient& audit, const std::string& kind, const std::string& needle) {
  for (int i = 0; i < 200; ++i) {
    auto response = audit.get("/v1/events?kind=" + kind);
    if (response && response->body.find(needle) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

// Waits (up to 2 s) until the ledger holds an event of `kind` whose leaf contains `needle`.
inline bool wait_for_event(RunningSecretsd& stack, const std::string& kind, const std::string& needle) {
  for (int i = 0; i < 200; ++i) {
    if (stack.events(kind).find(needle) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

} // namespace cordon::testing

#pragma once

// approvald with its approvers' web listener, a generic and a Slack webhook to a local receiver,
// and approvers alice and bob enrolled with TOTP secrets in secretsd: for tests that need a
// human to approve over the real page.
#include <fstream>

#include <sys/stat.h>

#include "common/files.h"
#include "common/ipc/https_client.h"
#include "common/totp.h"
#include "tests/integration/approvald/helpers.h"
#include "tests/integration/approvald/webhook_receiver.h"

namespace cordon::testing {

inline const std::string alice_secret = "alice-totp-secret-20b";
inline const std::string bob_secret = "bob-totp-secret-20bytes";
inline const std::string webhook_key = "webhook-hmac-key-for-tests";

inline const char* held_constitution = R"(
[[rule]]
id = "review-writes"
description = "A reviewer approves writes."
effect = "require_approval"
tools = ["fs.write"]
approval = { count = 1, group = "reviewers" }

[[rule]]
id = "two-for-pushes"
description = "Two maintainers approve a push, bound to its head."
effect = "require_approval"
tools = ["git.push"]
approval = { count = 2, group = "maintainers", bind = ["target.head"] }
)";

inline std::filesystem::path make_tls(const TempDir& directory) {
  const auto tls = directory.path() / "tls";
  REQUIRE(run_command(source_path("tools/devstack-tls") + " " + tls.string()).status == 0);
  return tls;
}

// auditd, secretsd, approvald with its web listener and a generic webhook to `receiver`.
struct ApprovalStack {
  explicit ApprovalStack(const std::string& sla_toml = "", int dry_run_days = 0,
                         const std::string& constitution = held_constitution)
      : tls(make_tls(scratch)), receiver(tls), stack([&] {
          const auto key_file = scratch.path() / "webhook.key";
          { std::ofstream(key_file) << webhook_key; }
          ::chmod(key_file.c_str(), 0600);
          ApprovaldProcessOptions options;
          options.web = true;
          options.tls_dir = tls;
          options.sla_toml = sla_toml;
          options.dry_run_days = dry_run_days;
          options.approvers_toml = R"(
[[approvald.approvers]]
name = "alice"
email = "alice@example.com"
groups = ["reviewers", "maintainers", "approvers"]
[[approvald.approvers]]
name = "bob"
groups = ["reviewers", "maintainers"]
[[approvald.approvers]]
name = "carol"
groups = ["finance"]
[[approvald.approvers]]
name = "support-bot"
groups = ["reviewers"]
)";
          options.webhooks_toml = "[[approvald.webhooks]]\ntype = \"generic\"\nurl = \"" + receiver.url() +
                                  "\"\nca_file = \"" + (tls / "ca.crt").string() + "\"\nsecret_file = \"" + key_file.string() + "\"\n" +
                                  "[[approvald.webhooks]]\ntype = \"slack\"\nurl = \"" + receiver.url() + "/slack\"\nca_file = \"" +
                                  (tls / "ca.crt").string() + "\"\n";
          return options;
        }(), constitution) {
    enroll("alice", alice_secret);
    enroll("bob", bob_secret);
  }
  void enroll(const std::string& name, const std::string& secret) {
    const Json body = {{"value_base64", to_base64(as_bytes(secret))}, {"tools", {"approval.totp"}}};
    json_of(stack.secrets.request(ipc::Method::put, "/v1/secrets/totp." + name, body.dump()), 201);
  }
  ipc::HttpsClient web() {
    auto [host, port] = ipc::parse_host_port(stack.approvald.web_address()).value();
    ipc::HttpsClientOptions options;
    options.host = host;
    options.port = port;
    options.ca_file = (tls / "ca.crt").string();
    return ipc::HttpsClient::create(options).value();
  }
  // The link the webhook for `approval_id` (event `event`) gave `approver`, as a path "/a/…".
  std::string link_for(const std::string& approval_id, const std::string& approver, const std::string& event = "approval.requested") {
    // The generic webhook's delivery of `event` for this approval (Slack's text has no links list).
    auto delivery = receiver.wait_for({"\"event\":\"" + event + "\"", "\"approval_id\":\"" + approval_id + "\""});
    REQUIRE(delivery);
    const Json body = parse_json(delivery->body).value();
    REQUIRE(body.contains("links"));
    for (const auto& link : body["links"])
      if (link["approver"] == approver) {
        const std::string url = link["url"];
        return url.substr(url.find("/a/"));
      }
    FAIL("no link for " << approver << " in " << delivery->body);
    return {};
  }
  Result<ipc::Response> answer(const std::string& path, const std::string& code, const std::string& choice) {
    ipc::ClientRequest request;
    request.method = ipc::Method::post;
    request.target = path;
    request.content_type = "application/x-www-form-urlencoded";
    request.body = "code=" + code + "&choice=" + choice;
    return web().request(request);
  }
  Json decide(const Json& call) { return json_of(stack.gate.post("/v1/decisions", call.dump()), 201); }

  TempDir scratch{"cordon-apw"};
  std::filesystem::path tls;
  WebhookReceiver receiver;
  RunningGate stack;
};

inline std::string code_now(const std::string& secret, int offset_steps = 0) {
  return totp::hotp(as_bytes(secret), totp::step_at(std::chrono::system_clock::now()) + static_cast<std::uint64_t>(offset_steps));
}


} // namespace cordon::testing

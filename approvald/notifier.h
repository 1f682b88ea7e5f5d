#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "approvald/approvald_config.h"
#include "common/audit/audit_client.h"
#include "common/encoding.h"
#include "common/error.h"
#include "common/json.h"

namespace cordon::approvald {

// One message to every configured webhook.
struct Announcement {
  std::string event;       // approval.requested | approval.nudged | approval.deadline | approval.closed
  std::string approval_id;
  std::string text;        // Slack's "text": one paragraph with the links
  Json payload;            // the generic webhook's body (event and approval_id are added)
};

// Posts announcements to the configured webhooks over HTTPS, on its own thread, so a slow or dead
// receiver never holds a decision up. Slack-compatible webhooks get {"text"}; generic ones the
// payload, signed: `X-Cordon-Signature-256: sha256=<hex HMAC-SHA256(key, body)>`, with
// `X-Cordon-Event` and `X-Cordon-Delivery`. Every delivery is recorded: approval.notified, or
// approval.notify_failed with the reason (nothing silent). Undelivered announcements are not
// retried; the SLA nudges are the retry.
class Notifier {
public:
  // Reads each generic webhook's key file (0600, owned by this user, 16..1024 bytes).
  static Result<std::unique_ptr<Notifier>> create(std::vector<WebhookConfig> webhooks, AuditClient& audit);
  ~Notifier(); // delivers what is queued, then stops
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  void announce(Announcement announcement);

private:
  struct Target {
    WebhookConfig config;
    Bytes key; // generic only
  };
  Notifier(std::vector<Target> targets, AuditClient& audit);
  void run();
  Result<int> deliver(const Target& target, const Announcement& announcement);

  std::vector<Target> m_targets;
  AuditClient& m_audit;
  std::mutex m_mutex;
  std::condition_variable m_wake;
  std::deque<Announcement> m_queue;
  bool m_stopping = false;
  std::thread m_thread;
};

// "sha256=" + hex(HMAC-SHA256(key, body)): what a receiver recomputes to check a delivery.
std::string webhook_signature(std::span<const std::uint8_t> key, std::string_view body);

} // namespace cordon::approvald

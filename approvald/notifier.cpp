#include "approvald/notifier.h"

#include <sys/stat.h>
#include <unistd.h>

#include "common/crypto.h"
#include "common/files.h"
#include "common/ipc/https_client.h"
#include "common/log.h"

namespace cordon::approvald {
namespace {

struct HttpsUrl {
  std::string host;
  std::uint16_t port = 443;
  std::string target;
};

Result<HttpsUrl> parse_https_url(std::string_view url) {
  if (!url.starts_with("https://")) return fail(Errc::invalid_argument, "webhook URLs are https://");
  std::string_view rest = url.substr(8);
  const auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  HttpsUrl out;
  out.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  std::string_view port;
  bool has_port = false;
  if (authority.starts_with("[")) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return fail(Errc::invalid_argument, "the webhook URL's IPv6 host has no ']'");
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return fail(Errc::invalid_argument, "the webhook URL's host is malformed");
      port = authority.substr(close + 2);
      has_port = true;
    }
    authority = authority.substr(1, close - 1);
  } else if (const auto colon = authority.find(':'); colon != std::string_view::npos) {
    port = authority.substr(colon + 1);
    has_port = true;
    authority = authority.substr(0, colon);
  }
  if (has_port) {
    const std::string digits(port);
    if (digits.empty() || digits.size() > 5 || digits.find_first_not_of("0123456789") != std::string::npos ||
        std::stoi(digits) < 1 || std::stoi(digits) > 65535)
      return fail(Errc::invalid_argument, "the webhook URL's port is not a number 1..65535");
    out.port = static_cast<std::uint16_t>(std::stoi(digits));
  }
  if (authority.empty()) return fail(Errc::invalid_argument, "the webhook URL has no host");
  out.host = std::string(authority);
  return out;
}

Result<Bytes> read_key_file(const std::string& path) {
  struct stat info{};
  if (::lstat(path.c_str(), &info) != 0) return fail(Errc::not_found, "cannot read the webhook key " + path);
  if (!S_ISREG(info.st_mode) || (info.st_mode & 077) != 0 || info.st_uid != ::geteuid())
    return fail(Errc::permission_denied, "the webhook key " + path + " must be a regular 0600 file of this user");
  auto text = CORDON_TRY(read_file(path));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  if (text.size() < 16 || text.size() > 1024)
    return fail(Errc::invalid_argument, "the webhook key " + path + " must hold 16..1024 bytes");
  Bytes key(text.begin(), text.end());
  crypto::wipe({reinterpret_cast<std::uint8_t*>(text.data()), text.size()});
  return key;
}

} // namespace

std::string webhook_signature(std::span<const std::uint8_t> key, std::string_view body) {
  return "sha256=" + to_hex(crypto::hmac_sha256(key, as_bytes(body)));
}

Result<std::unique_ptr<Notifier>> Notifier::create(std::vector<WebhookConfig> webhooks, AuditClient& audit) {
  std::vector<Target> targets;
  for (auto& webhook : webhooks) {
    CORDON_TRY(parse_https_url(webhook.url));
    Target target{std::move(webhook), {}};
    if (target.config.kind == WebhookKind::generic) target.key = CORDON_TRY(read_key_file(target.config.secret_file));
    targets.push_back(std::move(target));
  }
  return std::unique_ptr<Notifier>(new Notifier(std::move(targets), audit));
}

Notifier::Notifier(std::vector<Target> targets, AuditClient& audit) : m_targets(std::move(targets)), m_audit(audit) {
  m_thread = std::thread([this] { run(); });
}

Notifier::~Notifier() {
  {
    std::lock_guard lock(m_mutex);
    m_stopping = true;
  }
  m_wake.notify_all();
  m_thread.join();
  for (auto& target : m_targets) crypto::wipe(target.key);
}

void Notifier::announce(Announcement announcement) {
  {
    std::lock_guard lock(m_mutex);
    m_queue.push_back(std::move(announcement));
  }
  m_wake.notify_all();
}

void Notifier::run() {
  std::unique_lock lock(m_mutex);
  for (;;) {
    m_wake.wait(lock, [this] { return m_stopping || !m_queue.empty(); });
    if (m_queue.empty()) return;
    Announcement announcement = std::move(m_queue.front());
    m_queue.pop_front();
    lock.unlock();
    for (const Target& target : m_targets) {
      auto delivered = deliver(target, announcement);
      AuditEvent event;
      event.actor_id = "approvald";
      event.kind = delivered && *delivered / 100 == 2 ? "approval.notified" : "approval.notify_failed";
      event.data = {{"approval_id", announcement.approval_id}, {"event", announcement.event}, {"webhook", target.config.url},
                    {"type", target.config.kind == WebhookKind::slack ? "slack" : "generic"}};
      if (delivered) event.data["status"] = *delivered;
      else event.data["reason"] = delivered.error().message;
      if (event.kind == "approval.notify_failed")
        log::warn("a webhook delivery failed", {{"webhook", target.config.url}, {"approval_id", announcement.approval_id}});
      if (auto recorded = m_audit.record(event); !recorded)
        log::warn("a webhook delivery was not recorded", {{"error", recorded.error().message}});
    }
    lock.lock();
  }
}

Result<int> Notifier::deliver(const Target& target, const Announcement& announcement) {
  const auto url = CORDON_TRY(parse_https_url(target.config.url));
  ipc::HttpsClientOptions options;
  options.host = url.host;
  options.port = url.port;
  options.ca_file = target.config.ca_file;
  options.client.timeout = std::chrono::milliseconds(5'000);
  options.client.max_response_bytes = 64 << 10;
  auto client = CORDON_TRY(ipc::HttpsClient::create(std::move(options)));
  ipc::ClientRequest request;
  request.method = ipc::Method::post;
  request.target = url.target;
  request.content_type = "application/json";
  if (target.config.kind == WebhookKind::slack) {
    request.body = Json{{"text", announcement.text}}.dump();
  } else {
    Json body = announcement.payload;
    body["event"] = announcement.event;
    body["approval_id"] = announcement.approval_id;
    request.body = body.dump();
    const auto delivery = CORDON_TRY(crypto::random_bytes(8));
    request.headers.push_back({"X-Cordon-Signature-256", webhook_signature(target.key, request.body)});
    request.headers.push_back({"X-Cordon-Event", announcement.event});
    request.headers.push_back({"X-Cordon-Delivery", to_hex(delivery)});
  }
  const auto response = CORDON_TRY(client.request(request));
  return response.status;
}

} // namespace cordon::approvald

#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/ipc/client_request.h"
#include "common/json.h"

namespace cordon {

namespace ipc {
class ClientPool;
}

// One event for auditd's ledger (DESIGN.md §7). `source`, `tenant`, `time` and `index` are set
// by auditd; `sensitive` lists JSON pointers into `data` whose string values auditd stores only
// as their HMAC under the tenant's salt.
struct AuditEvent {
  std::string kind;                  // "lease.issued"
  std::string actor_type = "system"; // agent | human | system
  std::string actor_id;              // "secretsd", "alice", "support-bot"
  std::optional<std::string> run_id;
  Json data = Json::object();
  std::vector<std::string> sensitive;
};

struct AuditAck {
  std::uint64_t index = 0;
  std::string leaf_hash; // hex
};

// Appends events to auditd over its Unix socket and returns only once auditd acknowledged them
// as durable. Every failure (auditd down, a refusal, a timeout) is an error, which callers treat
// as "the action must not happen" (fail closed): Errc::unavailable when auditd cannot be reached
// or cannot write, otherwise the error auditd answered.
//
// Thread-safe: keeps a small pool of kept-alive connections, one per concurrent caller.
class AuditClient {
public:
  explicit AuditClient(std::string socket_path, ipc::ClientOptions options = default_options());
  ~AuditClient();
  AuditClient(const AuditClient&) = delete;
  AuditClient& operator=(const AuditClient&) = delete;

  Result<AuditAck> record(const AuditEvent& event);

  // The request body for one event, as auditd's POST /v1/events takes it.
  static Json event_body(const AuditEvent& event);

  static ipc::ClientOptions default_options();

private:
  std::unique_ptr<ipc::ClientPool> m_pool;
};

} // namespace cordon

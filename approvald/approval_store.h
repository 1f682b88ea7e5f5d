#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/json.h"
#include "common/sqlite/sqlite.h"

namespace cordon::approvald {

// One approver's answer to an approval.
struct Grant {
  std::string approver;
  std::string choice; // approve | reject
  std::string factor; // "totp"
  std::string at;
};

// A decision waiting for (or given) human approval (DESIGN.md §5.4).
//   pending  -> approved -> used (picked up by the same call: one execution per approval)
//   pending  -> rejected | aged_out | stale
//   approved -> stale (the target moved on before the call was made again)
struct ApprovalRecord {
  std::string id;            // "a-…"
  std::string decision_id;   // the pending decision that asked
  std::string action_digest; // what it approves, exactly
  std::string base_digest;   // the digest without target.head: the same call on another head
  Json bindings = Json::object(); // {"target.head": "…"} when the call has one
  Json requirements = Json::array(); // [{"count", "group", "bind"}]
  std::string agent;
  std::string tool;
  std::string run_id;
  Json proposal = Json::object();
  Json rules = Json::array();
  Json reasons = Json::array();
  std::string state = "pending";
  std::chrono::system_clock::time_point created_at;
  std::int64_t nudges = 0;
  std::string closed_reason;
  std::vector<Grant> grants;
};

// A one-time link: only the SHA-256 of its 256-bit token is stored.
struct LinkRecord {
  std::string token_sha256; // hex
  std::string approval_id;
  std::string approver;
  std::chrono::system_clock::time_point expires_at;
  bool used = false;
  std::int64_t failed_attempts = 0; // wrong second factors entered through it
};

// Approvals, their grants and links in SQLite (state_dir/approvals.db, 0600, every commit
// durable), so that pending approvals and their timers survive a restart. Thread-safe.
class ApprovalStore {
public:
  static Result<std::unique_ptr<ApprovalStore>> open(const std::filesystem::path& path);

  Result<void> create(const ApprovalRecord& approval);
  // Errc::not_found when there is none.
  Result<ApprovalRecord> find(const std::string& id) const;
  // The pending or approved approval of exactly this call, if any.
  Result<std::optional<ApprovalRecord>> find_open(const std::string& action_digest) const;
  // Open approvals of the same call on another target head.
  Result<std::vector<ApprovalRecord>> open_elsewhere(const std::string& base_digest, const std::string& action_digest) const;
  Result<std::vector<ApprovalRecord>> pending() const;
  Result<std::int64_t> count_pending() const;

  // Moves `id` from state `from` to `to`; Errc::conflict if it is no longer in `from`.
  Result<void> transition(const std::string& id, const std::string& from, const std::string& to, const std::string& reason);
  Result<void> set_nudges(const std::string& id, std::int64_t nudges);
  // Errc::conflict if the approver answered this approval before.
  Result<void> add_grant(const std::string& id, const Grant& grant);

  Result<void> add_link(const LinkRecord& link);
  Result<std::optional<LinkRecord>> find_link(const std::string& token_sha256) const;
  // Marks the link used; Errc::conflict if it was used already (single use).
  Result<void> use_link(const std::string& token_sha256);
  // Counts a wrong second factor entered through the link; returns the count so far.
  Result<std::int64_t> fail_link_attempt(const std::string& token_sha256);

private:
  explicit ApprovalStore(std::unique_ptr<Sqlite> db) : m_db(std::move(db)) {}
  Result<ApprovalRecord> read_row(Sqlite::Statement& row) const; // needs m_mutex
  Result<std::vector<ApprovalRecord>> query(const std::string& where, const std::vector<std::string>& values) const;
  mutable std::mutex m_mutex;
  std::unique_ptr<Sqlite> m_db;
};

} // namespace cordon::approvald

#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "common/error.h"
#include "common/json.h"
#include "common/sqlite/sqlite.h"

namespace cordon::approvald {

// One issued decision as approvald keeps it.
struct StoredDecision {
  std::string id;
  std::string run_id;
  std::string agent;
  std::string tool;
  std::string action_digest;
  std::string verdict; // allow | deny | pending
  std::string state;   // allowed | denied | pending
  std::string mode;
  Json rules = Json::array();
  Json reasons = Json::array();
  std::string policy_version;
  Json proposal = Json::object();
  Json approvals_required = Json::array();
  std::string approval_id; // empty unless pending
  std::string issued_at;
};

// approvald's state in SQLite (state_dir/approvald.db, 0600, every commit durable): the tenant's
// provisioning time and mode switch, and every decision issued. Thread-safe.
class DecisionStore {
public:
  // Opens (creating) the database; the first open records `now` as the provisioning time.
  static Result<std::unique_ptr<DecisionStore>> open(const std::filesystem::path& path,
                                                     std::chrono::system_clock::time_point now);

  std::chrono::system_clock::time_point provisioned_at() const { return m_provisioned_at; }
  // When an approved switch made the tenant live ahead of its dry-run period; nullopt if never.
  std::optional<std::chrono::system_clock::time_point> switched_live_at() const;
  // Records an approved switch to live (once; later calls keep the first time).
  Result<void> switch_live(std::chrono::system_clock::time_point at);

  Result<void> insert(const StoredDecision& decision);
  // Removes a decision that was stored but never issued.
  Result<void> remove(const std::string& id);
  // Errc::not_found when there is no such decision.
  Result<StoredDecision> find(const std::string& id) const;
  Result<std::int64_t> count() const;

private:
  explicit DecisionStore(std::unique_ptr<Sqlite> db) : m_db(std::move(db)) {}
  mutable std::mutex m_mutex;
  std::unique_ptr<Sqlite> m_db;
  std::chrono::system_clock::time_point m_provisioned_at;
  std::optional<std::chrono::system_clock::time_point> m_switched_live_at;
};

} // namespace cordon::approvald

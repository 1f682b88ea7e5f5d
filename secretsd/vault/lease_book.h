#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "common/error.h"
#include "common/nonce_set.h"
#include "common/record_log.h"

namespace cordon::secretsd {

// An open lease: which secret version it gave out, for which decision, until when.
struct Lease {
  std::string id;
  std::string secret;
  std::int64_t version = 0;
  std::string decision_id;
  std::string run_id;
  std::chrono::system_clock::time_point expires_at;
};

struct LeaseBookOptions {
  // A spent nonce is remembered this long past the `forget_after` it was spent with (a packet's
  // expiry), longer than any packet lives.
  std::chrono::seconds remember_nonces_for{3600};
  // The log is rewritten with only what is live once it is this large and twice what the last
  // rewrite left.
  std::uint64_t rewrite_after_bytes = std::uint64_t{8} << 20;
  RecordLogOptions log{};
};

// secretsd's single-use nonces and open leases (DESIGN.md §8), in memory and in a RecordLog: every
// change is one record, durable before the call returns, so a packet spent before a crash is
// refused after it, and a lease open before a restart is still expired (and its expiry recorded)
// after it. Spending a lease's nonce and opening the lease are one record: both or neither.
//
// Records are JSON objects: {"nonce", "forget_after"} (seconds since the epoch), optionally with
// "lease" {"id", "secret", "version", "decision_id", "run_id", "expires_at_ms"}; or {"close": id}.
//
// Thread-safe.
class LeaseBook {
public:
  static Result<std::unique_ptr<LeaseBook>> open(const std::filesystem::path& path, const Clock& clock,
                                                 LeaseBookOptions options = {});

  // Errc::conflict when `nonce` was spent before; Errc::unavailable when the disk fails.
  Result<void> spend_nonce(std::string_view nonce, std::chrono::system_clock::time_point forget_after);
  // spend_nonce and open `lease` in one durable record. Errc::conflict as spend_nonce, and when a
  // lease of that id is open.
  Result<void> spend_nonce_and_open(std::string_view nonce, std::chrono::system_clock::time_point forget_after,
                                    const Lease& lease);
  // Closes an open lease (released, expired or withdrawn). Errc::not_found when none is open.
  Result<Lease> close(std::string_view id);
  // Open leases whose expiry is at or before `now`, oldest first, at most `limit`.
  std::vector<Lease> expired(std::chrono::system_clock::time_point now, std::size_t limit = 1000) const;

  // Takes spent nonces and open leases kept elsewhere before (an older vault's tables): what is
  // already here is skipped, so an import interrupted by a crash can run again.
  Result<void> import(const std::vector<std::pair<std::string, std::chrono::system_clock::time_point>>& nonces,
                      const std::vector<Lease>& leases);

  // Forgets every open lease (crypto-shred: nothing is leased from a shredded vault again).
  Result<void> close_all();

  std::size_t open_leases() const;
  std::size_t remembered_nonces() const;
  std::uint64_t log_bytes() const;

private:
  using TimePoint = std::chrono::system_clock::time_point;
  LeaseBook(const Clock& clock, LeaseBookOptions options) : m_clock(clock), m_options(options) {}
  Result<void> apply(std::string_view payload);
  void forget_old_nonces();
  // Called after each change, once the memory holds it.
  void compact_if_grown();
  std::vector<std::string> live_records() const;

  const Clock& m_clock;
  LeaseBookOptions m_options;
  mutable std::mutex m_mutex;
  std::unique_ptr<RecordLog> m_log;
  NonceSet m_nonces;
  std::unordered_map<std::string, Lease> m_leases; // by id
  std::uint64_t m_rewritten_bytes = 0;             // the log's size after the last rewrite
};

} // namespace cordon::secretsd

#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/error.h"
#include "common/nonce_set.h"
#include "common/record_log.h"

namespace cordon {

struct SpentNoncesOptions {
  // A spent nonce is remembered this long past the `forget_after` it was spent with (a packet's
  // expiry), longer than any packet lives.
  std::chrono::seconds remember_for{3600};
  // The log is rewritten with only what is remembered once it is this large and twice what the
  // last rewrite left.
  std::uint64_t rewrite_after_bytes = std::uint64_t{8} << 20;
  RecordLogOptions log{};
};

// Single-use nonces that stay spent across a crash or restart: spend() appends one record
// ({"nonce", "forget_after"}, seconds since the epoch) to a RecordLog and returns only once it is
// durable, so a nonce spent before a crash is refused after it; a spend that fails leaves the
// nonce unspent. The same record layout as secretsd's lease book (which adds leases to it).
// Thread-safe.
class SpentNonces {
public:
  static Result<std::unique_ptr<SpentNonces>> open(const std::filesystem::path& path, const Clock& clock,
                                                   SpentNoncesOptions options = {});

  // Errc::conflict when `nonce` was spent before; Errc::unavailable when the disk fails.
  Result<void> spend(std::string_view nonce, std::chrono::system_clock::time_point forget_after);
  // Takes nonces spent elsewhere before (an older store): those already here are skipped, so an
  // import interrupted by a crash can run again.
  Result<void> import(const std::vector<std::pair<std::string, std::chrono::system_clock::time_point>>& nonces);

  std::size_t remembered() const;
  std::uint64_t log_bytes() const;

private:
  SpentNonces(const Clock& clock, SpentNoncesOptions options) : m_clock(clock), m_options(options) {}
  Result<void> apply(std::string_view payload);
  void forget_old();
  // Called after each spend, once the memory holds it.
  void compact_if_grown();

  const Clock& m_clock;
  SpentNoncesOptions m_options;
  mutable std::mutex m_mutex;
  std::unique_ptr<RecordLog> m_log;
  NonceSet m_nonces;
  std::uint64_t m_rewritten_bytes = 0; // the log's size after the last rewrite
};

} // namespace cordon

#pragma once

// Shared by the sink tests: entries that look like real leaves, an in-memory ledger to read
// from, fake sinks as seams, a private PostgreSQL and temporary directories.

#include <stdlib.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "auditd/sinks/sink.h"
#include "auditd/sinks/sink_runner.h"
#include "common/crypto.h"
#include "common/encoding.h"
#include "tests/support/postgres.h"

namespace cordon::audit::test {

using namespace std::chrono_literals;

inline std::string leaf_hash_hex(std::string_view leaf) {
  std::string prefixed(1, '\0');
  prefixed += leaf;
  const auto digest = crypto::sha256(prefixed);
  return to_hex(digest);
}

// A canonical-JSON-like leaf with what a byte-exact copy must keep: non-ASCII UTF-8, escapes,
// an integer beyond 2^53 and members in canonical (not jsonb's) order.
inline std::string leaf_for(std::uint64_t index, std::string_view tenant) {
  return fmt::format(R"({{"data":{{"big":18446744073709551615,"note":"café ✓ \"q\" \\ \n"}},)"
                     R"("index":{},"kind":"tool.executed","tenant":"{}"}})",
                     index, tenant);
}

inline SinkEntry make_entry(std::uint64_t index, std::string_view tenant = "acme") {
  SinkEntry entry;
  entry.index = index;
  entry.leaf = leaf_for(index, tenant);
  entry.leaf_hash_hex = leaf_hash_hex(entry.leaf);
  entry.tenant = std::string(tenant);
  return entry;
}

inline std::vector<SinkEntry> make_entries(std::uint64_t first, std::size_t count,
                                           std::string_view tenant = "acme") {
  std::vector<SinkEntry> entries;
  for (std::size_t i = 0; i < count; ++i) entries.push_back(make_entry(first + i, tenant));
  return entries;
}

// The ledger as a SinkRunner sees it: committed entries, read by index.
class MemoryLedger {
public:
  explicit MemoryLedger(std::string tenant = "acme") : m_tenant(std::move(tenant)) {}

  // Commits `count` more entries; returns the new size (what the ledger passes to notify()).
  std::uint64_t append(std::size_t count) {
    const std::lock_guard lock(m_mutex);
    for (std::size_t i = 0; i < count; ++i) m_entries.push_back(make_entry(m_entries.size(), m_tenant));
    return m_entries.size();
  }

  std::vector<SinkEntry> all() const {
    const std::lock_guard lock(m_mutex);
    return m_entries;
  }

  SinkReadFunction reader() {
    return [this](std::uint64_t from, std::size_t max) -> Result<std::vector<SinkEntry>> {
      const std::lock_guard lock(m_mutex);
      if (from >= m_entries.size()) return std::vector<SinkEntry>{};
      const auto end = std::min<std::uint64_t>(m_entries.size(), from + max);
      return std::vector<SinkEntry>(m_entries.begin() + static_cast<std::ptrdiff_t>(from),
                                    m_entries.begin() + static_cast<std::ptrdiff_t>(end));
    };
  }

private:
  std::string m_tenant;
  mutable std::mutex m_mutex;
  std::vector<SinkEntry> m_entries;
};

// Polls `condition` until it holds or `timeout` passes.
inline bool wait_until(const std::function<bool()>& condition,
                       std::chrono::milliseconds timeout = 30s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

// A fresh directory under /tmp, removed with its contents.
class TempDirectory {
public:
  TempDirectory() {
    std::string pattern = "/tmp/cordon-sink-test-XXXXXX";
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    m_path = pattern;
  }
  ~TempDirectory() {
    std::error_code ignored;
    std::filesystem::remove_all(m_path, ignored);
  }
  TempDirectory(const TempDirectory&) = delete;
  TempDirectory& operator=(const TempDirectory&) = delete;
  const std::filesystem::path& path() const { return m_path; }

private:
  std::filesystem::path m_path;
};

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

inline std::string as_lines(const std::vector<SinkEntry>& entries) {
  std::string text;
  for (const auto& entry : entries) text += entry.leaf + "\n";
  return text;
}

// Starts a private PostgreSQL server, failing the current test if it cannot.
inline std::unique_ptr<testing::TempPostgres> start_postgres() {
  auto server = testing::TempPostgres::create();
  if (!server) FAIL("cannot start a temporary PostgreSQL: " << server.error().message);
  return std::move(*server);
}

// One server per test process for the tests that do not stop it; each test uses its own tenant.
inline testing::TempPostgres& shared_postgres() {
  static std::unique_ptr<testing::TempPostgres> server;
  if (!server) server = start_postgres();
  return *server;
}

} // namespace cordon::audit::test

#pragma once

// Helpers shared by the ledger's tests: temporary directories and chains of real leaves.

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "auditd/ledger/event.h"
#include "auditd/ledger/hash.h"
#include "common/json.h"

namespace cordon::ledger::testing {

// A fresh directory under $TMPDIR, removed with everything in it at scope exit.
class TempDir {
public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "cordon-ledger-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) std::abort();
    m_path = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(m_path, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return m_path; }
  std::filesystem::path operator/(const std::string& name) const { return m_path / name; }

private:
  std::filesystem::path m_path;
};

inline const std::vector<std::uint8_t>& test_salt() {
  static const std::vector<std::uint8_t> salt(32, 0x5a);
  return salt;
}

// A prepared event of kind `kind` with a small data object that varies with `n`.
inline PreparedEvent test_event(int n, std::string kind = "tool.executed", std::string source = "agentd",
                                Json run_id = nullptr) {
  Json input = {{"kind", kind},
                {"actor", {{"type", "agent"}, {"id", "support-bot"}}},
                {"run_id", run_id},
                {"data", {{"n", n}, {"tool", "sql.query"}, {"note", "row " + std::to_string(n)}}}};
  const EventContext context{"acme", source, test_salt()};
  auto prepared = prepare_event(input, context);
  if (!prepared) std::abort();
  return std::move(*prepared);
}

// `count` chained leaves starting at entry 0, all stamped with the same time.
inline std::vector<std::string> chained_leaves(int count, std::size_t padding = 0) {
  std::vector<std::string> leaves;
  Hash prev = zero_hash;
  for (int i = 0; i < count; ++i) {
    Json input = {{"kind", i % 3 == 0 ? "decision.issued" : "tool.executed"},
                  {"actor", {{"type", "agent"}, {"id", "bot-" + std::to_string(i % 5)}}},
                  {"data", {{"i", i}, {"pad", std::string(padding, 'x')}}}};
    auto prepared = prepare_event(input, EventContext{"acme", "agentd", test_salt()});
    if (!prepared) std::abort();
    leaves.push_back(prepared->compose(static_cast<std::uint64_t>(i), prev, "2026-11-21T10:00:00.123456Z"));
    prev = leaf_hash(leaves.back());
  }
  return leaves;
}

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void write_file(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

inline void append_file(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::app);
  out << bytes;
}

inline Hash hash_of_hex(std::string_view hex) {
  auto hash = hash_from_hex(hex);
  if (!hash) std::abort();
  return *hash;
}

} // namespace cordon::ledger::testing

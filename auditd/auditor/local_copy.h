#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "common/error.h"

namespace cordon::auditor {

// An auditor's local copy of a ledger, as `cordon-audit pull` writes it and `verify` reads it:
//
//   DIR/events.jsonl              every leaf, in order, exactly as served (one per line)
//   DIR/checkpoints/<size>.note   every signed checkpoint pulled
//   DIR/verified.note             the newest checkpoint `verify` accepted; later verifications
//                                 must show the log still extends it (consistency)
class LocalCopy {
public:
  explicit LocalCopy(std::filesystem::path directory);

  const std::filesystem::path& directory() const { return m_directory; }
  std::filesystem::path events_path() const { return m_directory / "events.jsonl"; }
  std::filesystem::path checkpoints_dir() const { return m_directory / "checkpoints"; }
  std::filesystem::path verified_path() const { return m_directory / "verified.note"; }

  // Creates the directories if missing.
  Result<void> create() const;
  // The number of complete lines in events.jsonl, after cutting a torn final line (one without
  // '\n', left by an interrupted pull) so that pulling can resume there.
  Result<std::uint64_t> repair_and_count() const;
  // Appends leaves (each without '\n') and fsyncs.
  Result<void> append(const std::string& lines_with_newlines) const;
  // Stores a signed checkpoint under its size.
  Result<void> save_checkpoint(std::uint64_t size, const std::string& note) const;
  // Every stored checkpoint note, plus verified.note if present.
  Result<std::vector<std::string>> checkpoints() const;
  Result<void> save_verified(const std::string& note) const;

private:
  std::filesystem::path m_directory;
};

} // namespace cordon::auditor

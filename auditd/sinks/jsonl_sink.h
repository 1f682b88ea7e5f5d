#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

#include "auditd/sinks/sink.h"

namespace cordon::audit {

// A sink that appends each leaf, byte for byte, as one line of a file: the same form as
// `GET /v1/events`, so `cordon-audit verify` reads it directly. Line N (from 0) is ledger index N.
//
// The file is opened lazily by cursor() or write(), and again after any failure, so that a sink
// whose directory is missing, unwritable or full at first recovers once it is fixed. Opening
// creates the directory if missing and truncates a torn last line (one without '\n', left by a
// crash or a failed write); cursor() is then the number of complete lines. Each write() ends with
// fdatasync, so a successful write is durable.
class JsonlSink final : public Sink {
public:
  explicit JsonlSink(std::filesystem::path path);
  ~JsonlSink() override;
  JsonlSink(const JsonlSink&) = delete;
  JsonlSink& operator=(const JsonlSink&) = delete;

  std::string_view name() const override { return m_name; }
  Result<std::uint64_t> cursor() override;
  // Also fails with Errc::invalid_argument for a leaf containing '\n', which would break the
  // one-leaf-per-line form (canonical JSON never does).
  Result<void> write(std::uint64_t first_index, std::span<const SinkEntry> entries) override;

private:
  Result<void> open_if_needed();
  void close_file();

  std::filesystem::path m_path;
  std::string m_name;
  int m_fd = -1;
  std::uint64_t m_lines = 0; // complete lines in the file while m_fd is open
};

} // namespace cordon::audit

#pragma once

#include <filesystem>
#include <string>

#include "common/error.h"
#include "common/files.h"
#include "tests/support/approvald_process.h"
#include "tests/support/auditd_process.h"
#include "tests/support/secretsd_process.h"

namespace cordon::bench {

// The gate as the benchmarks run it: auditd, secretsd (development key-file custody) and
// approvald in one directory, approvald under a single constitution file.
class GateStack {
public:
  explicit GateStack(const std::filesystem::path& directory)
      : auditd([&] {
          testing::AuditdProcessOptions options;
          options.directory = directory;
          return options;
        }()),
        secretsd([&] {
          testing::SecretsdProcessOptions options;
          options.directory = directory;
          options.audit_socket = auditd.socket_path();
          return options;
        }()),
        approvald([&] {
          testing::ApprovaldProcessOptions options;
          options.directory = directory;
          options.audit_socket = auditd.socket_path();
          options.secretsd_socket = secretsd.socket_path();
          options.constitution_dir = directory / "constitution.d";
          return options;
        }()),
        m_constitution_dir(directory / "constitution.d") {}

  // Writes `constitution` as the only constitution file and starts the three daemons in order.
  Result<void> start(const std::string& constitution) {
    CORDON_TRY_VOID(auditd.start());
    CORDON_TRY_VOID(secretsd.start());
    std::filesystem::create_directories(m_constitution_dir);
    CORDON_TRY_VOID(write_file_atomically(m_constitution_dir / "10-bench.toml", constitution));
    return approvald.start();
  }

  testing::AuditdProcess auditd;
  testing::SecretsdProcess secretsd;
  testing::ApprovaldProcess approvald;

private:
  std::filesystem::path m_constitution_dir;
};

} // namespace cordon::bench

#pragma once

#include <filesystem>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/program.h"

namespace cordon::cli {

// Where offboarding acts: the appliance's paths, replaceable so that a test can point it at a
// stack of its own.
struct OffboardPaths {
  std::string auditd_socket = "/run/cordon/auditd.sock";
  std::string secretsd_socket = "/run/cordon/secretsd.sock";
  std::filesystem::path secretsd_config = "/etc/cordon/secretsd.toml"; // read for the TPM handle
  // Wiped: every tenant's state, configuration, the units' drop-ins, the sockets' directory.
  std::vector<std::filesystem::path> wiped = {"/var/lib/cordon", "/etc/cordon", "/run/cordon"};
  std::filesystem::path unit_dir = "/etc/systemd/system"; // its cordon-*.d drop-in directories go too
};

// `cordonctl offboard --tenant ID --confirm ID --to DIR` (docs/operator-guide.md, "Offboard"):
//
//  1. checks, changing nothing: ID is the appliance's tenant (secretsd says which) and both
//     flags name it; DIR is absolute, outside everything wiped, and absent or empty;
//  2. closes the gate (stops agentd and approvald with their sockets), records
//     `tenant.offboarded` and waits for a signed checkpoint that covers it;
//  3. exports the whole log and that checkpoint to DIR in `cordon-audit pull`'s layout, with
//     the verifier key, and verifies the copy offline before going on;
//  4. crypto-shreds secretsd's vault (the KEK and its TPM object), stops every Cordon unit and
//     disables cordon.target;
//  5. wipes state, configuration and drop-ins (each file overwritten with zeros, then removed)
//     and the journal (rotated and vacuumed: journald cannot drop one unit's entries, and on the
//     appliance they are all Cordon's);
//  6. checks that nothing is left and prints each check: the paths, the units, the journal,
//     the TPM object. Any check that fails makes the command fail.
//
// Any failure before step 4 leaves the tenant as it was, except that the gate stays closed
// (`systemctl start cordon.target` opens it again). `run` runs systemctl and journalctl: the
// real programs on the appliance, a recorder in tests.
struct OffboardCommand {
  std::string tenant;
  std::string confirm;
  std::filesystem::path destination;
  OffboardPaths paths;
  std::function<Result<ProgramOutput>(const std::vector<std::string>&)> run = run_program;
  std::chrono::seconds checkpoint_wait{60};
};

Result<void> run_offboard_command(const OffboardCommand& command, std::ostream& out);

} // namespace cordon::cli

// cordon-secretsd: key custody (DESIGN.md §8).
// no core dumps → config → KEK → vault → socket → READY=1 → run until SIGTERM.
#include "common/ipc/daemon_main.h"
#include "common/log.h"
#include "common/secure_bytes.h"
#include "secretsd/daemon.h"
#include "secretsd/secretsd_config.h"

int main(int argc, char** argv) {
  // First, before any key exists in this process: no core dump may ever hold one.
  if (auto forbidden = cordon::forbid_core_dumps(); !forbidden) {
    cordon::log::error("cannot forbid core dumps", {{"error", forbidden.error().message}});
    return 1;
  }
  return cordon::ipc::run_daemon<cordon::secretsd::Daemon>(argc, argv, "cordon-secretsd: key custody, signing oracle and leases",
                                                           cordon::secretsd::load_secretsd_config);
}

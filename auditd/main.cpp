// cordon-auditd: the write-once audit ledger (DESIGN.md §7).
// config → state → ledger → listeners → READY=1 → run until SIGTERM.
#include "auditd/auditd_config.h"
#include "auditd/daemon.h"
#include "common/ipc/daemon_main.h"

int main(int argc, char** argv) {
  return cordon::ipc::run_daemon<cordon::auditd::Daemon>(argc, argv, "cordon-auditd: the write-once audit ledger",
                                                         cordon::auditd::load_auditd_config);
}

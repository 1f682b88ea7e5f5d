// cordon-approvald: the gate (DESIGN.md §5).
// config → constitution → decision store → socket → READY=1 → run until SIGTERM (SIGHUP reloads).
#include "approvald/approvald_config.h"
#include "approvald/daemon.h"
#include "common/ipc/daemon_main.h"

int main(int argc, char** argv) {
  return cordon::ipc::run_daemon<cordon::approvald::Daemon>(
      argc, argv, "cordon-approvald: policy, hard floor, signed decisions and human approvals",
      cordon::approvald::load_approvald_config);
}

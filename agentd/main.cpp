// cordon-agentd: the MCP gateway (DESIGN.md §6).
// config → run store → tools → socket → READY=1 → run until SIGTERM.
#include "agentd/agentd_config.h"
#include "agentd/daemon.h"
#include "common/ipc/daemon_main.h"

int main(int argc, char** argv) {
  return cordon::ipc::run_daemon<cordon::agentd::Daemon>(
      argc, argv, "cordon-agentd: the MCP gateway that executes agent tool calls through the gate",
      cordon::agentd::load_agentd_config);
}

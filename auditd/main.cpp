// cordon-auditd: the write-once audit ledger (DESIGN.md §7).
// config → state → ledger → listeners → READY=1 → run until SIGTERM.
#include <csignal>
#include <thread>

#include <CLI/CLI.hpp>

#include "auditd/auditd_config.h"
#include "auditd/daemon.h"
#include "common/ipc/termination.h"
#include "common/log.h"

int main(int argc, char** argv) {
  CLI::App app{"cordon-auditd: the write-once audit ledger"};
  std::string config_path = "/etc/cordon/cordon.toml";
  app.add_option("--config", config_path, "configuration file")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  // Signals are taken synchronously by the daemon's event loop.
  const sigset_t signals = cordon::ipc::block_termination_signals();

  try {
    auto config = cordon::auditd::load_auditd_config(config_path);
    if (!config) {
      cordon::log::error("cannot load the configuration", {{"error", config.error().message}});
      return 2;
    }
    auto daemon = cordon::auditd::Daemon::start(std::move(*config));
    if (!daemon) {
      cordon::log::error("cannot start", {{"error", daemon.error().message}});
      return 1;
    }
    (*daemon)->run_until_signal(signals);
    return 0;
  } catch (const std::exception& error) {
    cordon::log::error("fatal", {{"error", error.what()}});
    return 1;
  }
}

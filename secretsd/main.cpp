// cordon-secretsd: key custody (DESIGN.md §8).
// no core dumps → config → KEK → vault → socket → READY=1 → run until SIGTERM.
#include <csignal>

#include <CLI/CLI.hpp>

#include "common/ipc/termination.h"
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
  CLI::App app{"cordon-secretsd: key custody, signing oracle and leases"};
  std::string config_path = "/etc/cordon/cordon.toml";
  app.add_option("--config", config_path, "configuration file")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  const sigset_t signals = cordon::ipc::block_termination_signals();

  try {
    auto config = cordon::secretsd::load_secretsd_config(config_path);
    if (!config) {
      cordon::log::error("cannot load the configuration", {{"error", config.error().message}});
      return 2;
    }
    auto daemon = cordon::secretsd::Daemon::start(std::move(*config));
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

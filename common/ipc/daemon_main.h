#pragma once

#include <csignal>
#include <exception>
#include <string>

#include <sys/prctl.h>

#include <CLI/CLI.hpp>

#include "common/error.h"
#include "common/ipc/termination.h"
#include "common/log.h"

namespace cordon::ipc {

// The main every daemon shares (STYLE.md: config → checks → listeners → READY=1 → run): reads
// `--config` (default /etc/cordon/cordon.toml), blocks the termination signals before any
// thread starts so that every thread inherits the mask, loads the configuration with `load`,
// starts `Daemon` (`static Result<std::unique_ptr<Daemon>> start(Config)`, which says READY=1)
// and serves until SIGTERM or SIGINT (`run_until_signal`). Exit status: 0 after a clean stop,
// 1 when the daemon cannot start or fails, 2 for a configuration it cannot use.
//
// Transparent huge pages are off for the daemon: with the kernel's THP "always", touching one
// thread's malloc arena could back it with a 2 MiB page, and a daemon that uses a few hundred
// KiB there would hold the whole page.
template <class Daemon, class Config>
int run_daemon(int argc, char** argv, const std::string& description, Result<Config> (*load)(const std::string&)) {
  CLI::App app{description};
  std::string config_path = "/etc/cordon/cordon.toml";
  app.add_option("--config", config_path, "configuration file")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (::prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) != 0) log::warn("cannot turn transparent huge pages off", {});

  const sigset_t signals = block_termination_signals();
  try {
    auto config = load(config_path);
    if (!config) {
      log::error("cannot load the configuration", {{"error", config.error().message}});
      return 2;
    }
    auto daemon = Daemon::start(std::move(*config));
    if (!daemon) {
      log::error("cannot start", {{"error", daemon.error().message}});
      return 1;
    }
    (*daemon)->run_until_signal(signals);
    return 0;
  } catch (const std::exception& error) {
    log::error("fatal", {{"error", error.what()}});
    return 1;
  }
}

} // namespace cordon::ipc

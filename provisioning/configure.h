#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "provisioning/bundle.h"
#include "provisioning/daemon_configs.h"

// `cordon-provision check` and `configure`: a bundle in, the four daemons' configuration out.
namespace cordon::provisioning {

// Parses and checks bundle bytes; a refusal's message is "the bundle is not valid: <key>: <reason>".
Result<Bundle> check_bundle(std::string_view text, std::chrono::system_clock::time_point now);

struct ConfigureOptions {
  std::optional<std::filesystem::path> bundle; // else the credential, else the config drive
  std::filesystem::path root = "/";
  // The default constitution, used when the bundle has none; <root>/usr/share/cordon/constitution.d
  // when not given.
  std::optional<std::filesystem::path> constitution_source;
  // `systemctl daemon-reload` after writing, so the drop-ins take effect; only when root is "/".
  bool reload = true;
  std::chrono::seconds drive_wait{15};
  RenderOptions render;
};

struct ConfigureReport {
  std::string bundle_origin;
  std::string summary;               // describe(bundle)
  std::vector<std::string> written; // paths under the root
};

// Finds and checks the bundle, plans every file, then writes them (as root: with their owners;
// otherwise with their modes only) and reloads systemd. Nothing is written unless the bundle and
// the plan are complete.
Result<ConfigureReport> configure(const ConfigureOptions& options);

} // namespace cordon::provisioning

#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

#include "common/error.h"

// Where `configure` gets the bundle's bytes (docs/provisioning.md): the path it was given; else
// the system credential cordon.bundle (passed by the hypervisor or the boot loader); else a
// config drive, a VFAT file system labelled CORDON-CFG holding bundle.toml.
namespace cordon::provisioning {

struct BundleText {
  std::string text;
  std::string origin; // where it came from, for messages
};

// Reads at most max_bundle_bytes; a larger file is Errc::too_large, a missing one Errc::not_found.
Result<std::string> read_bundle_file(const std::filesystem::path& path);

// `explicit_path` when given; else the credential; else waits up to `drive_wait` for the config
// drive, mounts it read-only (nosuid, nodev, noexec) on a fresh directory under /run, reads
// bundle.toml and unmounts it. Errc::not_found when there is no bundle anywhere.
Result<BundleText> find_bundle(const std::optional<std::filesystem::path>& explicit_path,
                               std::chrono::seconds drive_wait);

} // namespace cordon::provisioning

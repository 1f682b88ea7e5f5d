#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "common/error.h"
#include "provisioning/bundle.h"
#include "provisioning/daemon_configs.h"

// Everything `configure` will write, worked out in memory before the first byte is written: a
// bundle that cannot be turned into configuration changes nothing.
namespace cordon::provisioning {

struct PlannedFile {
  std::string path; // relative to the root
  std::string content;
  std::uint32_t mode = 0644;
  std::string user = "root";
  std::string group = "root";
  // /etc/shadow: the file keeps the mode, owner and group it has.
  bool keep_existing_owner = false;
};

struct PlannedDirectory {
  std::string path; // relative to the root; created with its parents, then given `mode`
  std::uint32_t mode = 0755;
};

struct InstallPlan {
  std::vector<PlannedDirectory> directories;
  std::vector<PlannedFile> files;   // written in this order
  std::vector<std::string> removals; // left by an earlier provisioning and no longer wanted

  const PlannedFile* find(std::string_view path) const;
};

struct PlanOptions {
  std::filesystem::path root = "/";
  // Where the default constitution is copied from when the bundle has none.
  std::filesystem::path constitution_source;
  RenderOptions render;
  std::chrono::system_clock::time_point now;
};

Result<InstallPlan> plan_installation(const Bundle& bundle, const PlanOptions& options);

} // namespace cordon::provisioning

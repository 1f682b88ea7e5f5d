#pragma once

#include <filesystem>

#include "common/error.h"
#include "provisioning/install_plan.h"

namespace cordon::provisioning {

// Whether files get their planned owner and group. Only root can give them; tests that run as
// another user keep the modes and skip the owners.
enum class Ownership { apply, skip };

// Carries out a plan under `root`: directories first, then each file atomically (a temporary
// file beside it, written, given its mode and owner, fsynced and renamed over the old one, so a
// reader sees the old file or the new one), then the removals; each touched directory is
// fsynced at the end. With Ownership::apply every owner is resolved before anything is written.
Result<void> install(const InstallPlan& plan, const std::filesystem::path& root, Ownership ownership);

} // namespace cordon::provisioning

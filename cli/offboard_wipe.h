#pragma once

#include <cstddef>
#include <filesystem>

#include "common/error.h"

namespace cordon::cli {

// Removes `path` and everything under it. Each regular file is first overwritten with zeros
// and fdatasync'd, so that its blocks do not keep the data on a file system that writes in
// place (not a promise on SSDs or copy-on-write file systems: the crypto-shred is what makes the
// vault unreadable). Symbolic links are removed, never followed. A missing `path` is no error.
// Returns the number of files overwritten.
Result<std::size_t> wipe_tree(const std::filesystem::path& path);

} // namespace cordon::cli

#pragma once

#include <cstddef>
#include <filesystem>

#include "common/encoding.h"
#include "common/error.h"

namespace cordon {

// Loads a small secret (a key seed, a salt) of exactly `size` bytes from `path`, creating it
// from the kernel's randomness if it does not exist: written to a temporary file of mode 0600,
// synced, linked into place (a concurrent creator's file wins) and the directory synced.
//
// Refuses, with Errc::permission_denied, a file readable or writable by group or others, owned
// by another user, not a regular file, or a symlink; with Errc::integrity one that is not exactly
// `size` bytes. The caller wipes the returned bytes when done (crypto::wipe).
Result<Bytes> load_or_create_secret_file(const std::filesystem::path& path, std::size_t size);

} // namespace cordon

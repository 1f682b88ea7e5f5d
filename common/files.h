#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "common/error.h"

namespace cordon {

// Reads a whole (small) file. Errc::not_found if it cannot be opened.
Result<std::string> read_file(const std::filesystem::path& path);

// Replaces `path` with `text` atomically: a temporary beside it is written and fsynced, then
// renamed over it, so a reader sees the old or the new content, never a mix. Mode 0644.
Result<void> write_file_atomically(const std::filesystem::path& path, std::string_view text);

// Creates `path` (and its parents) if needed and sets its mode to 0700: a daemon's private state.
Result<void> make_private_directory(const std::filesystem::path& path);

// Destroys a file's content before removing it: overwritten in place with random bytes of its
// length, fsynced, unlinked, and the directory fsynced. A missing file is not an error. On a
// copy-on-write or log-structured file system the old blocks may survive the overwrite; the
// crypto-shred design (docs/SECURITY.md) does not rely on it.
Result<void> shred_file(const std::filesystem::path& path);

} // namespace cordon

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

} // namespace cordon

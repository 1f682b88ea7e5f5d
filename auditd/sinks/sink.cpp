#include "auditd/sinks/sink.h"

#include <fmt/format.h>

namespace cordon::audit {

Result<void> check_consecutive(std::uint64_t first_index, std::span<const SinkEntry> entries) {
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (entries[i].index != first_index + i) {
      return fail(Errc::invalid_argument,
                  fmt::format("sink batch from index {} holds index {} at position {}",
                              first_index, entries[i].index, i));
    }
  }
  return ok();
}

} // namespace cordon::audit

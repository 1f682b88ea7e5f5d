#include "provisioning/shadow_file.h"

#include <algorithm>

namespace cordon::provisioning {

Result<std::string> with_root_password_hash(std::string_view shadow, std::string_view hash) {
  if (hash.find_first_of(":\n\r") != std::string_view::npos)
    return fail(Errc::invalid_argument, "a password hash cannot hold ':' or a line break");
  std::size_t line = 0;
  while (line < shadow.size()) {
    const auto end = std::min(shadow.find('\n', line), shadow.size());
    const std::string_view text = shadow.substr(line, end - line);
    if (text.starts_with("root:")) {
      const std::size_t field = line + 5;
      const auto next = text.find(':', 5);
      if (next == std::string_view::npos) return fail(Errc::invalid_argument, "root's line in the shadow file is malformed");
      std::string out(shadow.substr(0, field));
      out.append(hash);
      out.append(shadow.substr(line + next));
      return out;
    }
    line = end + 1;
  }
  return fail(Errc::not_found, "the shadow file has no line for root");
}

} // namespace cordon::provisioning

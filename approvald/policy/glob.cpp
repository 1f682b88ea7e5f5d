#include "approvald/policy/glob.h"

#include <vector>

namespace cordon::approvald {

bool glob_match(std::string_view pattern, std::string_view text) {
  // matched[j]: the pattern read so far matches text[0, j).
  std::vector<char> matched(text.size() + 1, 0);
  std::vector<char> next(text.size() + 1, 0);
  matched[0] = 1;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const char token = pattern[i];
    const bool double_star = token == '*' && i + 1 < pattern.size() && pattern[i + 1] == '*';
    if (double_star) ++i;
    for (std::size_t j = 0; j <= text.size(); ++j) {
      if (token == '*') {
        const bool extend = j > 0 && next[j - 1] && (double_star || text[j - 1] != '/');
        next[j] = matched[j] || extend;
      } else if (j == 0) {
        next[j] = 0;
      } else if (token == '?') {
        next[j] = matched[j - 1] && text[j - 1] != '/';
      } else {
        next[j] = matched[j - 1] && text[j - 1] == token;
      }
    }
    matched.swap(next);
  }
  return matched[text.size()] != 0;
}

} // namespace cordon::approvald

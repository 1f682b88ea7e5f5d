#include "auditd/tile_path.h"

#include <charconv>

#include <fmt/format.h>

namespace cordon::auditd {
namespace {

bool parse_decimal(std::string_view text, std::uint64_t& out) {
  if (text.empty() || (text.size() > 1 && text[0] == '0')) return false;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
  return error == std::errc() && end == text.data() + text.size();
}

bool is_three_digits(std::string_view text) {
  return text.size() == 3 && std::isdigit(static_cast<unsigned char>(text[0])) &&
         std::isdigit(static_cast<unsigned char>(text[1])) &&
         std::isdigit(static_cast<unsigned char>(text[2]));
}

Result<TilePath> not_a_tile(std::string_view path) {
  return fail(Errc::not_found, fmt::format("{} is not a tile path", path));
}

} // namespace

Result<TilePath> parse_tile_path(std::string_view path) {
  constexpr std::string_view prefix = "/tile/";
  if (!path.starts_with(prefix)) return not_a_tile(path);
  std::string_view rest = path.substr(prefix.size());
  TilePath tile;

  const auto slash = rest.find('/');
  if (slash == std::string_view::npos) return not_a_tile(path);
  const auto first = rest.substr(0, slash);
  rest = rest.substr(slash + 1);
  if (first == "entries") {
    tile.entries = true;
  } else {
    std::uint64_t level = 0;
    if (!parse_decimal(first, level) || level > 63) return not_a_tile(path);
    tile.level = static_cast<unsigned>(level);
  }

  if (const auto partial = rest.find(".p/"); partial != std::string_view::npos) {
    std::uint64_t width = 0;
    if (!parse_decimal(rest.substr(partial + 3), width) || width < 1 || width > 255)
      return not_a_tile(path);
    tile.width = static_cast<unsigned>(width);
    rest = rest.substr(0, partial);
  }

  std::uint64_t index = 0;
  bool leading = true;
  while (true) {
    const auto next = rest.find('/');
    const auto group = rest.substr(0, next);
    const bool last = next == std::string_view::npos;
    const auto digits = last ? group : group.substr(group.empty() ? 0 : 1);
    if ((!last && (group.empty() || group[0] != 'x')) || !is_three_digits(digits))
      return not_a_tile(path);
    const unsigned value = static_cast<unsigned>(digits[0] - '0') * 100 +
                           static_cast<unsigned>(digits[1] - '0') * 10 +
                           static_cast<unsigned>(digits[2] - '0');
    if (leading && !last && value == 0) return not_a_tile(path); // no leading x000 groups
    if (index > (UINT64_MAX - value) / 1000) return not_a_tile(path);
    index = index * 1000 + value;
    leading = false;
    if (last) break;
    rest = rest.substr(next + 1);
  }
  tile.index = index;
  return tile;
}

std::string format_tile_path(const TilePath& tile) {
  std::string out = tile.entries ? "/tile/entries/" : fmt::format("/tile/{}/", tile.level);
  std::string digits = fmt::format("{:03}", tile.index % 1000);
  std::uint64_t rest = tile.index / 1000;
  while (rest > 0) {
    digits = fmt::format("x{:03}/", rest % 1000) + digits;
    rest /= 1000;
  }
  out += digits;
  if (tile.width < 256) out += fmt::format(".p/{}", tile.width);
  return out;
}

} // namespace cordon::auditd

#include "agentd/untrusted/hidden_unicode.h"

#include <array>
#include <optional>

#include "common/utf8.h"

namespace cordon::untrusted {
namespace {

enum class HiddenKind { bidi_control, tag_characters, variation_selector, zero_width };

// Indexed by HiddenKind; sorted, so that kinds come out sorted.
constexpr std::array<std::string_view, 4> kind_names = {"bidi_control", "tag_characters",
                                                        "variation_selector", "zero_width"};

bool in(char32_t code_point, char32_t first, char32_t last) {
  return code_point >= first && code_point <= last;
}

std::optional<HiddenKind> hidden_kind(char32_t c) {
  if (c < 0x00ad) return std::nullopt; // the common case: ASCII and most of Latin-1
  if (in(c, 0xe0000, 0xe007f)) return HiddenKind::tag_characters;
  if (in(c, 0x200b, 0x200f) || in(c, 0x2060, 0x2064) || in(c, 0x206a, 0x206f) || c == 0xfeff ||
      c == 0x00ad || c == 0x180e || in(c, 0xfff9, 0xfffb))
    return HiddenKind::zero_width;
  if (in(c, 0x202a, 0x202e) || in(c, 0x2066, 0x2069) || c == 0x061c) return HiddenKind::bidi_control;
  if (in(c, 0xfe00, 0xfe0f) || in(c, 0xe0100, 0xe01ef)) return HiddenKind::variation_selector;
  return std::nullopt;
}

constexpr std::string_view replacement_character = "\xef\xbf\xbd";

} // namespace

StrippedText strip_hidden(std::string_view utf8) {
  StrippedText result;
  result.text.reserve(utf8.size());
  std::array<bool, kind_names.size()> seen{};
  std::size_t i = 0;
  while (i < utf8.size()) {
    const std::size_t length = utf8_sequence_length(utf8, i);
    if (length == 0) {
      result.text += replacement_character;
      ++i;
      continue;
    }
    if (length == 1) {
      result.text += utf8[i++];
      continue;
    }
    const std::size_t start = i;
    const char32_t code_point = utf8_decode_lenient(utf8, i);
    const auto kind = hidden_kind(code_point);
    if (!kind) {
      result.text.append(utf8.substr(start, length));
      continue;
    }
    ++result.removed;
    seen[static_cast<std::size_t>(*kind)] = true;
    if (in(code_point, 0xe0020, 0xe007e)) result.hidden_ascii += static_cast<char>(code_point - 0xe0000);
  }
  for (std::size_t k = 0; k < kind_names.size(); ++k)
    if (seen[k]) result.kinds.emplace_back(kind_names[k]);
  return result;
}

} // namespace cordon::untrusted

#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

// Invisible code points in untrusted content (DESIGN.md §6.3). A model reads them although a
// human reviewing the same text does not see them, so they are a channel for instructions: tag
// characters carry a whole ASCII sentence, zero-width and bidi controls split or reorder words so
// that a scanner or a reviewer misreads them. agentd hands the agent the stripped text only.
namespace cordon::untrusted {

// The result of strip_hidden.
struct StrippedText {
  // The input without hidden code points; always well-formed UTF-8.
  std::string text;
  // How many code points were removed.
  std::size_t removed = 0;
  // The classes of removed code points, sorted: "bidi_control", "tag_characters",
  // "variation_selector", "zero_width".
  std::vector<std::string> kinds;
  // The ASCII that tag characters U+E0020..U+E007E spell, in order of appearance, all runs
  // concatenated (U+E0041 is "A"). An instruction smuggled in tags is scanned from here.
  std::string hidden_ascii;
};

// Removes, by class:
// - tag_characters: U+E0000..U+E007F;
// - zero_width: U+200B..U+200F, U+2060..U+2064, U+206A..U+206F (deprecated format controls),
//   U+FEFF, U+00AD (soft hyphen), U+180E, U+FFF9..U+FFFB (interlinear annotation controls);
// - bidi_control: U+202A..U+202E, U+2066..U+2069, U+061C (Arabic letter mark);
// - variation_selector: U+FE00..U+FE0F, U+E0100..U+E01EF. Every one, including a U+FE0F that
//   only asks for emoji presentation: the text stays readable without it.
// Ill-formed UTF-8 is replaced by U+FFFD, one per ill-formed byte, and not counted as removed:
// the result must be valid to travel in JSON, and the agent must not see bytes the scanner read
// differently. Linear in the input; never throws except std::bad_alloc.
StrippedText strip_hidden(std::string_view utf8);

} // namespace cordon::untrusted

#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "common/error.h"

namespace cordon::untrusted {

// A markers file's regex, compiled by PCRE2 (8-bit, not UTF: bytes, as the folded text is
// searched). Case-insensitive for ASCII letters; `^` and `$` match only at the subject's start
// and very end; `.` matches anything but CR and LF; \w, \s, \b are ASCII. These are the
// semantics ECMAScript regexes have for the patterns the markers file allows. PCRE2 backtracks
// on the heap, not the stack, and every search runs under match and memory limits. Immutable;
// copies share the compiled pattern; a search may run on any number of threads at once.
class MarkerRegex {
public:
  // Compiles `pattern`; an error names PCRE2's reason and the byte offset.
  static Result<MarkerRegex> compile(std::string_view pattern);

  // Whether the regex matches in subject[start, subject.size()). The bytes before `start` are
  // only looked at (by \b); `at_end` false means the subject goes on past its end, so `$`
  // does not match there. A search that exceeds its limits counts as a match: a line the
  // scanner could not finish is treated as suspicious (fail closed).
  bool search(std::string_view subject, std::size_t start, bool at_end) const;

  // The pattern's compiled size in bytes.
  std::size_t size_bytes() const;

private:
  struct Compiled;
  explicit MarkerRegex(std::shared_ptr<const Compiled> compiled) : m_compiled(std::move(compiled)) {}
  std::shared_ptr<const Compiled> m_compiled;
};

} // namespace cordon::untrusted

#include "agentd/untrusted/marker_regex.h"

#include <cstdint>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

namespace cordon::untrusted {
namespace {

// Backtracking steps and memory one search may use. A flat marker regex over an 8 KiB chunk
// needs a few hundred thousand steps at most; the limits stop a pathological one instead of
// letting it run for seconds.
constexpr std::uint32_t match_limit = 10'000'000;
constexpr std::uint32_t heap_limit_kib = 8 * 1024;

struct CodeFree {
  void operator()(pcre2_code* code) const { pcre2_code_free(code); }
};
struct ContextFree {
  void operator()(pcre2_match_context* context) const { pcre2_match_context_free(context); }
};
struct CompileContextFree {
  void operator()(pcre2_compile_context* context) const { pcre2_compile_context_free(context); }
};
struct MatchDataFree {
  void operator()(pcre2_match_data* data) const { pcre2_match_data_free(data); }
};

std::string error_text(int code) {
  PCRE2_UCHAR buffer[256];
  const int length = pcre2_get_error_message(code, buffer, sizeof buffer);
  if (length < 0) return "PCRE2 error " + std::to_string(code);
  return std::string(reinterpret_cast<const char*>(buffer), static_cast<std::size_t>(length));
}

} // namespace

struct MarkerRegex::Compiled {
  std::unique_ptr<pcre2_code, CodeFree> code;
  std::unique_ptr<pcre2_match_context, ContextFree> limits;
};

Result<MarkerRegex> MarkerRegex::compile(std::string_view pattern) {
  std::unique_ptr<pcre2_compile_context, CompileContextFree> context(pcre2_compile_context_create(nullptr));
  if (!context) return fail(Errc::internal, "cannot allocate a regex compile context");
  pcre2_set_newline(context.get(), PCRE2_NEWLINE_ANYCRLF);
  // Nothing in the pattern may switch on UTF or Unicode properties ((*UTF), (*UCP)).
  constexpr std::uint32_t options =
      PCRE2_CASELESS | PCRE2_DOLLAR_ENDONLY | PCRE2_NEVER_UTF | PCRE2_NEVER_UCP | PCRE2_NEVER_BACKSLASH_C;
  int error = 0;
  PCRE2_SIZE offset = 0;
  std::unique_ptr<pcre2_code, CodeFree> code(pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                                           options, &error, &offset, context.get()));
  if (!code) return fail(Errc::invalid_argument, error_text(error) + " at byte " + std::to_string(offset));
  std::unique_ptr<pcre2_match_context, ContextFree> limits(pcre2_match_context_create(nullptr));
  if (!limits) return fail(Errc::internal, "cannot allocate a regex match context");
  pcre2_set_match_limit(limits.get(), match_limit);
  pcre2_set_heap_limit(limits.get(), heap_limit_kib);
  auto compiled = std::make_shared<Compiled>();
  compiled->code = std::move(code);
  compiled->limits = std::move(limits);
  return MarkerRegex(std::move(compiled));
}

bool MarkerRegex::search(std::string_view subject, std::size_t start, bool at_end) const {
  // A match block per search (only whether it matched is used, so one pair is enough): it holds
  // the search's backtracking frames, which are freed with it rather than kept per thread.
  std::unique_ptr<pcre2_match_data, MatchDataFree> data(pcre2_match_data_create(1, nullptr));
  if (!data) return true;
  const std::uint32_t options = at_end ? 0 : PCRE2_NOTEOL;
  const int result = pcre2_match(m_compiled->code.get(), reinterpret_cast<PCRE2_SPTR>(subject.data()), subject.size(),
                                 start, options, data.get(), m_compiled->limits.get());
  return result != PCRE2_ERROR_NOMATCH; // a match, or a limit or another failure: fail closed
}

std::size_t MarkerRegex::size_bytes() const {
  std::size_t size = 0;
  pcre2_pattern_info(m_compiled->code.get(), PCRE2_INFO_SIZE, &size);
  return size;
}

} // namespace cordon::untrusted

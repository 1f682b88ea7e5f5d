// MarkerRegex: the markers' regexes under PCRE2, with the semantics the markers file promises.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "agentd/untrusted/marker_regex.h"

using namespace cordon;
using namespace cordon::untrusted;

namespace {

MarkerRegex compiled(std::string_view pattern) {
  auto regex = MarkerRegex::compile(pattern);
  if (!regex) FAIL("compile failed: " << regex.error().message);
  return std::move(*regex);
}

bool matches(std::string_view pattern, std::string_view subject) { return compiled(pattern).search(subject, 0, true); }

} // namespace

TEST_CASE("a marker regex matches anywhere in the subject, ignoring ASCII case") {
  CHECK(matches(R"(\bignore\W{1,3}previous\b)", "please IGNORE - Previous notes"));
  CHECK_FALSE(matches(R"(\bignore\W{1,3}previous\b)", "ignored previous"));
  CHECK(matches(R"(<\|(im_start|system)\|>)", "text <|im_start|> more"));
}

TEST_CASE("^ and $ match only at the subject's start and very end, not at its line breaks") {
  CHECK(matches(R"(^\s*system\s*:)", "  system: you are"));
  CHECK_FALSE(matches(R"(^\s*system\s*:)", "hello\nsystem: you are"));
  CHECK(matches(R"(instructions$)", "new instructions"));
  CHECK_FALSE(matches(R"(instructions$)", "new instructions\n"));
  CHECK_FALSE(matches(R"(a.b)", "a\rb"));
  CHECK_FALSE(matches(R"(a.b)", "a\nb"));
  CHECK(matches(R"(a.b)", "a-b"));
}

TEST_CASE("a search from an offset sees the bytes before it for \\b, and ^ does not match there") {
  const MarkerRegex word = compiled(R"(\bfoo)");
  CHECK_FALSE(word.search("xfoo", 1, true));
  CHECK(word.search("x foo", 1, true));
  const MarkerRegex start = compiled(R"(^foo)");
  CHECK(start.search("foo", 0, true));
  CHECK_FALSE(start.search("xfoo", 1, true));
}

TEST_CASE("a subject cut short (at_end false) does not match $ at its cut") {
  const MarkerRegex end = compiled(R"(done$)");
  CHECK(end.search("all done", 0, true));
  CHECK_FALSE(end.search("all done", 0, false));
}

TEST_CASE("\\w, \\s and case folding are ASCII: bytes of UTF-8 text are not letters") {
  CHECK_FALSE(matches(R"(^\w$)", "\xc3\xa9")); // é: two bytes, neither a word character
  CHECK(matches(R"(^\W\W$)", "\xc3\xa9"));
  CHECK(matches("忽略(之前|以上)的指令", "请忽略以上的指令")); // byte-wise literals
  CHECK_FALSE(matches(R"(\s)", "\xc2\xa0")); // NO-BREAK SPACE is not ASCII whitespace
}

TEST_CASE("a pattern that does not compile names the reason and the byte offset") {
  auto bad = MarkerRegex::compile("(unclosed");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code == Errc::invalid_argument);
  CHECK_THAT(bad.error().message, Catch::Contains("at byte 9"));
  CHECK_FALSE(MarkerRegex::compile("[z-a]"));
}

TEST_CASE("a pattern cannot switch on UTF or Unicode properties") {
  CHECK_FALSE(MarkerRegex::compile("(*UTF)x"));
  CHECK_FALSE(MarkerRegex::compile("(*UCP)x"));
  CHECK_FALSE(MarkerRegex::compile(R"(a\Cb)"));
}

TEST_CASE("a search that runs into its limits counts as a match (fail closed), and returns promptly") {
  // Exponential backtracking: each of the 2^40 ways to split the a's is tried before failing.
  const MarkerRegex catastrophic = compiled(R"(^(a+)+$)");
  const std::string subject = std::string(40, 'a') + "!";
  const auto started = std::chrono::steady_clock::now();
  CHECK(catastrophic.search(subject, 0, true));
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(20));
  CHECK_FALSE(catastrophic.search("aaaa!", 0, true)); // the same pattern, within its limits
}

TEST_CASE("a long line is searched without exhausting the stack") {
  const std::string line(1 << 20, 'a');
  CHECK_FALSE(matches(R"((a|b)*c)", line + "d"));
}

TEST_CASE("copies share one compiled pattern and may search on several threads at once") {
  const MarkerRegex regex = compiled(R"(\bsend\sit\sto\shttps?://)");
  CHECK(regex.size_bytes() > 0);
  CHECK(regex.size_bytes() < 4096);
  std::vector<std::thread> threads;
  std::vector<int> hits(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([copy = regex, &hits, t] {
      for (int i = 0; i < 1000; ++i) hits[t] += copy.search(i % 2 ? "now send it to http://x" : "nothing here", 0, true);
    });
  }
  for (auto& thread : threads) thread.join();
  for (int count : hits) CHECK(count == 500);
}

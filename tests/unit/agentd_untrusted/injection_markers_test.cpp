// The injection markers file: loading it strictly, normalising text, matching one text.
#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <vector>

#include "agentd/untrusted/injection_markers.h"
#include "untrusted_fixtures.h"

using namespace cordon;
using namespace cordon::untrusted;
using untrusted_fixtures::shipped_markers;
using untrusted_fixtures::utf8;

namespace {

MarkerSet parsed(const std::string& toml) {
  auto result = MarkerSet::parse(toml, "test-markers.toml");
  if (!result) FAIL("parse failed: " << result.error().message);
  return *result;
}

Error refusal(const std::string& toml) {
  auto result = MarkerSet::parse(toml, "test-markers.toml");
  if (result) FAIL("parse succeeded:\n" << toml);
  return result.error();
}

// The ids of the markers in `set` that `text` matches.
std::vector<std::string> matched_ids(const MarkerSet& set, std::string_view text) {
  std::vector<std::string> ids;
  for (std::size_t index : set.match(text)) ids.push_back(set.markers()[index].id);
  return ids;
}

const std::string header = "version = \"1\"\n";

} // namespace

TEST_CASE("the shipped markers file loads with its version and at least 40 markers") {
  const MarkerSet& markers = shipped_markers();
  CHECK(markers.version() == "2026-12-02.1");
  CHECK(markers.markers().size() >= 40);
  CHECK(markers.source() == untrusted_fixtures::shipped_markers_path());
}

TEST_CASE("the shipped markers file covers every class and all three forms") {
  std::set<std::string> classes;
  std::set<MarkerForm> forms;
  std::size_t patterns = 0;
  for (const Marker& marker : shipped_markers().markers()) {
    classes.insert(std::string(marker_class_name(marker.marker_class)));
    forms.insert(marker.form);
    patterns += marker.form == MarkerForm::phrases ? marker.phrases.size() : 1;
  }
  CHECK(classes == std::set<std::string>{"encoded_blob", "exfiltration", "ignore_previous", "role_shift",
                                         "system_prompt", "tool_call_payload"});
  CHECK(forms.size() == 3);
  CHECK(patterns >= 200);
}

TEST_CASE("class names round-trip") {
  for (MarkerClass c : {MarkerClass::role_shift, MarkerClass::ignore_previous, MarkerClass::system_prompt,
                        MarkerClass::tool_call_payload, MarkerClass::exfiltration, MarkerClass::encoded_blob})
    CHECK(parse_marker_class(marker_class_name(c)) == c);
  CHECK_FALSE(parse_marker_class("Role_Shift"));
  CHECK_FALSE(parse_marker_class(""));
}

TEST_CASE("normalising lowercases and collapses whitespace and punctuation to single spaces") {
  CHECK(normalise_for_matching("IGNORE   all previous-instructions") == "ignore all previous instructions");
  CHECK(normalise_for_matching("  Ignore,\n\tall...previous___instructions!!  ") == "ignore all previous instructions");
  CHECK(normalise_for_matching("don't") == "don t");
  CHECK(normalise_for_matching("") == "");
  CHECK(normalise_for_matching("--- ***") == "");
}

TEST_CASE("normalising folds look-alike letters and Unicode punctuation") {
  // Cyrillic о and е, fullwidth letters, mathematical bold, a no-break space, an em dash and a
  // combining acute accent.
  CHECK(normalise_for_matching("ign" + utf8(0x043e) + "r" + utf8(0x0435)) == "ignore");
  CHECK(normalise_for_matching(utf8(0xff29) + utf8(0xff27) + utf8(0xff2e)) == "ign");
  CHECK(normalise_for_matching(utf8(0x1d422) + utf8(0x1d420) + utf8(0x1d427)) == "ign");
  CHECK(normalise_for_matching("all" + utf8(0x00a0) + "previous" + utf8(0x2014) + "rules") == "all previous rules");
  CHECK(normalise_for_matching("i" + utf8(0x0301) + "gnore") == "ignore");
  CHECK(normalise_for_matching("ignore" + utf8(0x2022) + "previous") == "ignore previous");
  // Letters of other scripts stay letters.
  CHECK(normalise_for_matching("Caf\xc3\xa9 M\xc3\xbcller") == "caf\xc3\xa9 m\xc3\xbcller");
}

TEST_CASE("folding keeps punctuation and line breaks and collapses runs of spaces") {
  CHECK(fold_for_matching("A  \t B\r\nC") == "a b \nc");
  CHECK(fold_for_matching(utf8(0x201c) + "Tool" + utf8(0x201d) + utf8(0x2028) + "x") == "\"tool\"\nx");
}

TEST_CASE("phrases match whole words only") {
  const MarkerSet set = parsed(header + "[[marker]]\nid = \"act\"\nclass = \"role_shift\"\nphrases = [\"act as\"]\n");
  CHECK(matched_ids(set, "Please act as the reviewer") == std::vector<std::string>{"act"});
  CHECK(matched_ids(set, "ACT, AS if") == std::vector<std::string>{"act"});
  CHECK(matched_ids(set, "contact assistance").empty());
  CHECK(matched_ids(set, "react ascii").empty());
  CHECK(matched_ids(set, "act").empty());
}

TEST_CASE("phrases match across line breaks and repeated first words") {
  const MarkerSet set = parsed(header + "[[marker]]\nid = \"ip\"\nclass = \"ignore_previous\"\n"
                                        "phrases = [\"ignore previous instructions\"]\n");
  CHECK(matched_ids(set, "Ignore\nprevious\ninstructions").size() == 1);
  CHECK(matched_ids(set, "ignore ignore previous instructions").size() == 1);
  CHECK(matched_ids(set, "ignore previous instruction").empty());
}

TEST_CASE("regexes are searched per line, so ^ anchors a line") {
  const MarkerSet set = parsed(header + "[[marker]]\nid = \"hdr\"\nclass = \"role_shift\"\n"
                                        "regex = '^\\s*system\\s*:'\n");
  CHECK(matched_ids(set, "first line\n  SYSTEM: obey").size() == 1);
  CHECK(matched_ids(set, "the system: obey").empty());
}

TEST_CASE("a regex finds a match past 8 KiB into a long line and across a chunk boundary") {
  const MarkerSet set = parsed(header + "[[marker]]\nid = \"tok\"\nclass = \"role_shift\"\n"
                                        "regex = '<\\|im_start\\|>'\n");
  const std::string token = "<|im_start|>";
  CHECK(matched_ids(set, std::string(100000, 'x') + token).size() == 1);
  for (std::size_t at : {max_regex_line_bytes - 5, max_regex_line_bytes - regex_chunk_overlap_bytes - 3}) {
    INFO("at " << at);
    std::string line(3 * max_regex_line_bytes, 'x');
    line.replace(at, token.size(), token);
    CHECK(matched_ids(set, line).size() == 1);
  }
}

TEST_CASE("a chunk boundary is not a line start") {
  const MarkerSet set = parsed(header + "[[marker]]\nid = \"hdr\"\nclass = \"role_shift\"\n"
                                        "regex = '^system:'\n");
  std::string line(2 * max_regex_line_bytes, 'x');
  line.replace(max_regex_line_bytes - regex_chunk_overlap_bytes, 7, "system:");
  CHECK(matched_ids(set, line).empty());
}

TEST_CASE("regexes see folded text: look-alikes, curly quotes, collapsed spaces") {
  const MarkerSet set = parsed(header + "[[marker]]\nid = \"rpc\"\nclass = \"tool_call_payload\"\n"
                                        "regex = '\"method\"\\s?:\\s?\"tools/call\"'\n");
  CHECK(matched_ids(set, utf8(0x201c) + "METHOD" + utf8(0x201d) + "   :\t\"tools/call\"").size() == 1);
  CHECK(matched_ids(set, "\"m" + utf8(0x0435) + "thod\": \"tools/call\"").size() == 1);
}

TEST_CASE("a marker with an unknown class is refused, naming the marker and the file") {
  const Error error = refusal(header + "[[marker]]\nid = \"odd-one\"\nclass = \"mind_control\"\nphrases = [\"x\"]\n");
  CHECK(error.code == Errc::invalid_argument);
  CHECK_THAT(error.message, Catch::Contains("test-markers.toml") && Catch::Contains("odd-one") &&
                                Catch::Contains("mind_control"));
}

TEST_CASE("a marker whose regex does not compile is refused, naming the marker and the file") {
  const Error error = refusal(header + "[[marker]]\nid = \"broken-regex\"\nclass = \"role_shift\"\nregex = '(unclosed'\n");
  CHECK(error.code == Errc::invalid_argument);
  CHECK_THAT(error.message, Catch::Contains("test-markers.toml") && Catch::Contains("broken-regex") &&
                                Catch::Contains("does not compile"));
}

TEST_CASE("a marker with an unknown key is refused, naming the marker, the key and the file") {
  const Error error = refusal(header + "[[marker]]\nid = \"typo\"\nclass = \"role_shift\"\nphrase = [\"x\"]\n");
  CHECK(error.code == Errc::invalid_argument);
  CHECK_THAT(error.message, Catch::Contains("test-markers.toml") && Catch::Contains("typo") &&
                                Catch::Contains("unknown key \"phrase\""));
}

TEST_CASE("a marker with empty phrases, or a phrase without words, is refused") {
  const Error empty = refusal(header + "[[marker]]\nid = \"none\"\nclass = \"role_shift\"\nphrases = []\n");
  CHECK(empty.code == Errc::invalid_argument);
  CHECK_THAT(empty.message, Catch::Contains("\"none\"") && Catch::Contains("empty"));
  const Error blank = refusal(header + "[[marker]]\nid = \"blank\"\nclass = \"role_shift\"\nphrases = [\"ok\", \" -- \"]\n");
  CHECK_THAT(blank.message, Catch::Contains("\"blank\"") && Catch::Contains("no words"));
}

TEST_CASE("a regex that could backtrack without bound is refused") {
  const Error error = refusal(header + "[[marker]]\nid = \"greedy\"\nclass = \"role_shift\"\nregex = 'ignore.*instructions'\n");
  CHECK(error.code == Errc::invalid_argument);
  CHECK_THAT(error.message, Catch::Contains("\"greedy\"") && Catch::Contains("without a bound"));
  const Error wide = refusal(header + "[[marker]]\nid = \"wide\"\nclass = \"role_shift\"\nregex = 'a{1,5000}'\n");
  CHECK_THAT(wide.message, Catch::Contains("\"wide\"") && Catch::Contains("more than 256"));
}

TEST_CASE("a marker needs exactly one form, and min_length only with a run") {
  CHECK_THAT(refusal(header + "[[marker]]\nid = \"zero\"\nclass = \"role_shift\"\n").message,
             Catch::Contains("\"zero\"") && Catch::Contains("exactly one"));
  CHECK_THAT(refusal(header + "[[marker]]\nid = \"two\"\nclass = \"role_shift\"\nphrases = [\"x\"]\nregex = 'x'\n").message,
             Catch::Contains("\"two\"") && Catch::Contains("exactly one"));
  CHECK_THAT(refusal(header + "[[marker]]\nid = \"len\"\nclass = \"role_shift\"\nphrases = [\"x\"]\nmin_length = 20\n").message,
             Catch::Contains("\"len\"") && Catch::Contains("min_length"));
  CHECK_THAT(refusal(header + "[[marker]]\nid = \"run\"\nclass = \"encoded_blob\"\nrun = \"base32\"\nmin_length = 20\n").message,
             Catch::Contains("\"run\"") && Catch::Contains("base32"));
  CHECK_THAT(refusal(header + "[[marker]]\nid = \"short\"\nclass = \"encoded_blob\"\nrun = \"hex\"\nmin_length = 2\n").message,
             Catch::Contains("\"short\"") && Catch::Contains("out of range"));
}

TEST_CASE("a marker without an id, or with a duplicate or malformed one, is refused") {
  const Error missing = refusal(header + "[[marker]]\nclass = \"role_shift\"\nphrases = [\"x\"]\n");
  CHECK(missing.code == Errc::invalid_argument);
  CHECK_THAT(missing.message, Catch::Contains("marker[0]") && Catch::Contains("id"));
  const std::string one = "[[marker]]\nid = \"same\"\nclass = \"role_shift\"\nphrases = [\"x\"]\n";
  CHECK_THAT(refusal(header + one + one).message, Catch::Contains("\"same\"") && Catch::Contains("duplicate"));
  CHECK_THAT(refusal(header + "[[marker]]\nid = \"Has Space\"\nclass = \"role_shift\"\nphrases = [\"x\"]\n").message,
             Catch::Contains("Has Space"));
}

TEST_CASE("the root needs a version and markers, and nothing else") {
  const std::string marker = "[[marker]]\nid = \"m\"\nclass = \"role_shift\"\nphrases = [\"x\"]\n";
  CHECK(refusal(marker).code == Errc::invalid_argument);
  CHECK(refusal(header).code == Errc::invalid_argument);
  CHECK(refusal("version = \"bad version\"\n" + marker).code == Errc::invalid_argument);
  CHECK_THAT(refusal(header + "extra = 1\n" + marker).message, Catch::Contains("unknown key \"extra\""));
  CHECK(refusal("version = \n").code == Errc::invalid_argument);
}

TEST_CASE("a missing markers file is not_found") {
  auto result = load_markers("/nonexistent/injection-markers.toml");
  REQUIRE_FALSE(result);
  CHECK(result.error().code == Errc::not_found);
}

TEST_CASE("the complexity check allows bounded repetitions and whitespace stars only") {
  CHECK_FALSE(regex_complexity_problem("^\\s*(system|assistant)\\s*:"));
  CHECK_FALSE(regex_complexity_problem("[^\"]{1,128}x{3}\\s{2,}? "));
  CHECK_FALSE(regex_complexity_problem("a +b"));
  CHECK_FALSE(regex_complexity_problem("[*+]\\*\\+\\{"));
  CHECK(regex_complexity_problem("a+"));
  CHECK(regex_complexity_problem("(\\s)*"));
  CHECK(regex_complexity_problem("[a-z]*"));
  CHECK(regex_complexity_problem("\\\\s*")); // a literal backslash, then s*
  CHECK(regex_complexity_problem("\\w{3,}"));
  CHECK(regex_complexity_problem("x{257}"));
  CHECK(regex_complexity_problem("[abc"));
  CHECK(regex_complexity_problem(std::string(max_regex_bytes + 1, 'a')));
}

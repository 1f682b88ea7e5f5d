#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"

// Taint by observation (DESIGN.md §6.3): before a sensitive call, agentd asks where each
// sensitive argument's value came from. Not from the agent's word — from what the run has seen:
// a value that appears in untrusted content (tool results from outside) and not in the run's
// trusted task text is `untrusted`, and approvald's floor sends the call to a human. This holds
// even if the agent's model is fully compromised, because it only compares observed texts.
//
// How a value "occurs" in a text, after trimming and lowercasing ASCII:
// - a URL (scheme://…, and any value of an argument named "url" or "…_url"): its host
//   (url_host) occurs as a whole host name, not inside a longer one: "evil.example" occurs in
//   "https://evil.example/a" and "bob@evil.example" but not in "notevil.example" or
//   "evil.example.org";
// - an email address (local@domain.tld): the whole address occurs, not inside a longer one;
// - any other value of 4 characters or more: it occurs as a substring that does not cut a word
//   (letters, digits and non-ASCII characters), so "1000" does not occur in "10000" nor "post"
//   in "postgres";
// - a shorter value occurs only where it is the whole text: "50" is too common to trace.
// Against untrusted spans both sides are compared after strip_hidden and fold_for_matching, so
// a value copied from content that hid a zero-width space or used a look-alike letter still
// traces back to it (fail closed). Against the trusted task they are compared exactly (ASCII
// case aside), so a look-alike host can never borrow the trust of the real one.
namespace cordon::untrusted {

enum class Provenance { trusted, untrusted, unknown };

// "trusted", "untrusted", "unknown".
std::string_view provenance_name(Provenance provenance);

// The untrusted texts one run has seen, as they are matched: each added text without hidden
// code points, plus the ASCII its tag characters spell and the texts its base64 and hex runs
// decode to (decoded_runs), since the agent's model can read those too.
//
// Bounded: at most max_total_bytes are stored per run. A run that has seen more is `saturated`:
// the rest is not stored, and every value that is not trusted counts as untrusted, so the bound
// can only make the answer more cautious. Matching one value costs at most one pass over the
// stored bytes (KMP, no backtracking), so a call's check is bounded by the number of its
// sensitive values times max_total_bytes.
class UntrustedSpans {
public:
  static constexpr std::size_t max_total_bytes = std::size_t{8} << 20;

  // Records one tool result (or other outside content) as the agent was given it.
  void add(std::string_view text);

  // How many texts were added, including those past the bound (observed.untrusted_spans).
  std::size_t count() const { return m_count; }
  std::size_t stored_bytes() const { return m_stored_bytes; }
  bool saturated() const { return m_saturated; }
  // The stored texts, in matching form.
  const std::vector<std::string>& texts() const { return m_texts; }

private:
  void store(std::string text);

  std::vector<std::string> m_texts;
  std::size_t m_count = 0;
  std::size_t m_stored_bytes = 0;
  bool m_saturated = false;
};

// The run's trusted task text, registered by an admin or integration (POST /v1/runs), never by
// the agent.
class TrustedTask {
public:
  TrustedTask() = default;
  explicit TrustedTask(std::string_view text);

  // The text in matching form (ASCII lowercased).
  const std::string& text() const { return m_text; }

private:
  std::string m_text;
};

// What provenance is judged against. Holds references: the run outlives the check.
struct TaintContext {
  const TrustedTask& task;
  const UntrustedSpans& untrusted;
};

// `trusted` when `value` occurs in the task text; otherwise `untrusted` when it occurs in an
// untrusted span (or the spans are saturated); otherwise `unknown` — the agent made it up, or it
// is too short to trace. An empty value is `unknown`. A value starting with scheme:// is judged
// by its host (url_provenance).
Provenance provenance(std::string_view value, const TaintContext& context);

// The provenance of the host of `url` (url_host); for a value without a host, provenance(url).
Provenance url_provenance(std::string_view url, const TaintContext& context);

// The host of scheme://[userinfo@]host[:port][/?#…], of //host… and of a bare host[:port][/…]:
// percent-decoded, ASCII-lowercased, without IPv6 brackets and trailing dots. The authority ends
// at the first '/', '?', '#' or '\' (as browsers read http URLs) and userinfo at its last '@', so
// "http://trusted.example@evil.example/" gives "evil.example". Empty when there is no host or it
// holds spaces, controls or characters hosts cannot have.
std::string url_host(std::string_view url);

// The names in `sensitive_names` (sorted, unique) whose argument carries an untrusted value: a
// string, an integer (as its decimal text), or any string or integer inside an array or object
// (recipients: ["a@x.example", …]). Arguments named "url" or "…_url" are judged by host. Names
// absent from `arguments` are skipped; `arguments` that is not an object has none. Nesting deeper
// than 32 levels counts as untrusted (it cannot be judged).
std::vector<std::string> tainted_arguments(const Json& arguments, const std::vector<std::string>& sensitive_names,
                                           const TaintContext& context);

} // namespace cordon::untrusted

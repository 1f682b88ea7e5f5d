#include <fmt/format.h>

#include "auditd/auditor/commands.h"
#include "auditd/auditor/local_copy.h"
#include "auditd/ledger/checkpoint.h"
#include "auditd/ledger/event.h"
#include "common/ipc/client_request.h"

namespace cordon::auditor {
namespace {

// Entries asked for per request: a page of the largest leaves stays under the HTTPS client's
// response limit (the server's default page of 10,000 would not).
constexpr std::uint64_t page_entries = 1000;
static_assert(page_entries * (ledger::max_leaf_bytes + 1) < ipc::ClientOptions{}.max_response_bytes);

Result<std::string> fetch_ok(const Fetch& fetch, const std::string& target) {
  auto response = CORDON_TRY(fetch(target));
  if (response.status != 200) return tl::unexpected<Error>(ipc::error_from_response(response));
  return std::move(response.body);
}

// The checkpoint's size, read from its body without checking the signature: `verify` does that
// offline against the pinned key, and a forged size only makes the pull fetch less or fail.
Result<std::uint64_t> checkpoint_size(const std::string& note) {
  const auto body_end = note.find("\n\n");
  if (body_end == std::string::npos) return fail(Errc::invalid_argument, "the checkpoint is not a signed note");
  auto checkpoint = CORDON_TRY(ledger::parse_checkpoint(std::string_view(note).substr(0, body_end + 1)));
  return checkpoint.size;
}

} // namespace

Result<void> pull(const Fetch& fetch, const PullOptions& options, std::ostream& out) {
  LocalCopy copy(options.directory);
  CORDON_TRY_VOID(copy.create());
  std::uint64_t have = CORDON_TRY(copy.repair_and_count());
  const std::uint64_t had = have;

  const auto note = CORDON_TRY(fetch_ok(fetch, "/v1/checkpoint"));
  const auto size = CORDON_TRY(checkpoint_size(note));
  if (size < have)
    return fail(Errc::integrity,
                fmt::format("the server's checkpoint covers {} entries but the local copy already "
                            "holds {}: the log shrank or was replaced",
                            size, have));

  while (have < size) {
    auto response = CORDON_TRY(fetch(fmt::format("/v1/events?from={}&to={}&limit={}", have, size, page_entries)));
    if (response.status != 200) return tl::unexpected<Error>(ipc::error_from_response(response));
    std::uint64_t lines = 0;
    for (char c : response.body) lines += c == '\n' ? 1 : 0;
    if (lines == 0 || response.body.back() != '\n')
      return fail(Errc::integrity, fmt::format("the server returned no whole entries from index {}", have));
    CORDON_TRY_VOID(copy.append(response.body));
    have += lines;
  }
  if (have != size)
    return fail(Errc::integrity, fmt::format("pulled {} entries, more than the checkpoint's {}", have, size));
  CORDON_TRY_VOID(copy.save_checkpoint(size, note));
  out << fmt::format("pulled {} new entries into {} ({} in all); checkpoint size {}\n", have - had,
                     copy.events_path().string(), have, size);
  return ok();
}

} // namespace cordon::auditor

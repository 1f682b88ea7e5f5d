// The offline verifier's JSONL stream (LedgerVerifier::feed), as cordon-audit verify reads a
// pulled log, a JSONL sink or segment files.
//
// Invariants, in each line-check mode (layout, syntax, canonical):
// - the report does not depend on how the stream is split into feed() calls;
// - it says exactly what an independent walk over the lines says: the first line that is not a
//   well-formed leaf or not numbered by its position fails there, a broken prev link fails at
//   the entry before it, an unterminated last line fails at its position, and otherwise the log
//   verifies with every line counted and the RFC 9162 root of MerkleTree over the lines;
// - a stricter mode accepting a log implies the looser ones accept it, with the same root.
// For a log that verifies, with checkpoints signed here:
// - checkpoints of prefixes (size 0 included) match and are reported by size;
// - a checkpoint whose root is wrong fails at the size of the last one that matched, and one
//   beyond the end of the log fails at the log's end.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "auditd/ledger/checkpoint.h"
#include "auditd/ledger/event.h"
#include "auditd/ledger/hash.h"
#include "auditd/ledger/merkle.h"
#include "auditd/ledger/verifier.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/fuzz_signer.h"

namespace {

using namespace cordon;
using ledger::VerifyReport;

enum class Mode { layout, syntax, canonical };
constexpr Mode modes[] = {Mode::layout, Mode::syntax, Mode::canonical};

ledger::VerifyOptions options_for(Mode mode) {
  ledger::VerifyOptions options;
  options.threads = 1;
  options.syntax = mode == Mode::syntax;
  options.canonical = mode == Mode::canonical;
  return options;
}

// FNV-1a, to derive split points and checkpoint sizes from the input deterministically.
std::uint64_t fingerprint(std::string_view bytes) {
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  for (const char c : bytes) hash = (hash ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
  return hash;
}

VerifyReport verify(std::string_view stream, ledger::VerifyOptions options, bool in_pieces) {
  auto verifier = ledger::LedgerVerifier::create(std::move(options));
  CORDON_FUZZ_CHECK(verifier.has_value());
  if (!in_pieces) {
    (*verifier)->feed(stream);
    return (*verifier)->finish();
  }
  std::uint64_t state = fingerprint(stream);
  while (!stream.empty()) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    const std::size_t take = std::min<std::size_t>(stream.size(), 1 + (state >> 33) % 97);
    (*verifier)->feed(stream.substr(0, take));
    stream.remove_prefix(take);
  }
  return (*verifier)->finish();
}

void check_same_report(const VerifyReport& a, const VerifyReport& b) {
  CORDON_FUZZ_CHECK(a.entries == b.entries);
  CORDON_FUZZ_CHECK(a.ok() == b.ok());
  if (a.ok()) CORDON_FUZZ_CHECK(a.root == b.root);
  // Reasons may be worded differently (a line too long for any leaf is refused as soon as the
  // partial line grows past the bound, or when it is complete), never placed differently.
  if (!a.ok()) CORDON_FUZZ_CHECK(a.failure->index == b.failure->index);
  CORDON_FUZZ_CHECK(a.checkpoints == b.checkpoints);
}

struct Walk {
  std::vector<std::string_view> lines;     // complete lines
  std::optional<std::uint64_t> failure;   // where the log stops verifying
};

bool line_passes(std::string_view line, Mode mode, std::uint64_t& index, ledger::Hash& prev) {
  if (mode == Mode::canonical) {
    const auto event = ledger::parse_leaf(line);
    if (!event) return false;
    index = event->index;
    prev = event->prev;
    return true;
  }
  const auto fields = mode == Mode::syntax ? ledger::check_leaf(line) : ledger::check_leaf_layout(line);
  if (!fields) return false;
  index = fields->index;
  prev = fields->prev;
  return true;
}

// The verdict of verifier.h's contract, line by line.
Walk walk(std::string_view stream, Mode mode) {
  Walk result;
  ledger::Hash expected_prev = ledger::zero_hash;
  while (!stream.empty()) {
    const std::size_t newline = stream.find('\n');
    const std::uint64_t position = result.lines.size();
    if (newline == std::string_view::npos) {
      result.failure = position;
      return result;
    }
    const std::string_view line = stream.substr(0, newline);
    stream.remove_prefix(newline + 1);
    std::uint64_t index = 0;
    ledger::Hash prev{};
    if (!line_passes(line, mode, index, prev) || index != position) {
      result.failure = position;
      return result;
    }
    if (prev != expected_prev) {
      result.failure = position == 0 ? 0 : position - 1;
      return result;
    }
    expected_prev = ledger::leaf_hash(line);
    result.lines.push_back(line);
  }
  return result;
}

std::string signed_checkpoint(std::uint64_t size, const ledger::Hash& root) {
  const auto& signer = fuzz::FuzzSigner::instance();
  auto note = ledger::sign_checkpoint(ledger::Checkpoint{signer.name(), size, root}, signer);
  CORDON_FUZZ_CHECK(note.has_value());
  return *note;
}

void check_checkpoints(std::string_view stream, const std::vector<std::string_view>& lines) {
  ledger::MerkleTree tree;
  for (const auto line : lines) tree.append(ledger::leaf_hash(line));
  const std::uint64_t size = lines.size();
  const std::uint64_t prefix = fingerprint(stream) % (size + 1);
  const auto root_at = [&](std::uint64_t n) {
    auto root = tree.root(n);
    CORDON_FUZZ_CHECK(root.has_value());
    return *root;
  };

  auto options = options_for(Mode::layout);
  options.key = fuzz::FuzzSigner::pinned_key();
  options.origin = fuzz::FuzzSigner::instance().name();
  options.checkpoints = {signed_checkpoint(size, root_at(size)), signed_checkpoint(prefix, root_at(prefix))};
  const auto matched = verify(stream, options, false);
  CORDON_FUZZ_CHECK(matched.ok() && matched.entries == size);
  CORDON_FUZZ_CHECK(matched.checkpoints.size() == 2);
  CORDON_FUZZ_CHECK(matched.checkpoints[0].size == prefix && matched.checkpoints[1].size == size);

  ledger::Hash wrong = root_at(size);
  wrong[stream.size() % wrong.size()] ^= 0x80;
  options.checkpoints = {signed_checkpoint(size, wrong), signed_checkpoint(prefix, root_at(prefix))};
  if (prefix == size) options.checkpoints.pop_back();
  const std::uint64_t last_good = prefix == size ? 0 : prefix;
  const auto mismatched = verify(stream, options, true);
  CORDON_FUZZ_CHECK(!mismatched.ok() && mismatched.failure->index == last_good);

  options.checkpoints = {signed_checkpoint(size + 1, root_at(size))};
  const auto beyond = verify(stream, options, true);
  CORDON_FUZZ_CHECK(!beyond.ok() && beyond.failure->index == size);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view stream(reinterpret_cast<const char*>(data), size);
  std::optional<VerifyReport> stricter;
  for (auto mode = std::rbegin(modes); mode != std::rend(modes); ++mode) {
    const VerifyReport whole = verify(stream, options_for(*mode), false);
    check_same_report(whole, verify(stream, options_for(*mode), true));

    const Walk expected = walk(stream, *mode);
    CORDON_FUZZ_CHECK(whole.ok() == !expected.failure.has_value());
    if (expected.failure) {
      CORDON_FUZZ_CHECK(whole.failure->index == *expected.failure && whole.entries == *expected.failure);
    } else {
      CORDON_FUZZ_CHECK(whole.entries == expected.lines.size());
      ledger::MerkleTree tree;
      for (const auto line : expected.lines) tree.append(ledger::leaf_hash(line));
      CORDON_FUZZ_CHECK(whole.root == tree.root());
      if (*mode == Mode::layout) check_checkpoints(stream, expected.lines);
    }
    if (stricter && stricter->ok()) CORDON_FUZZ_CHECK(whole.ok() && whole.root == stricter->root);
    stricter = whole;
  }
  return 0;
}

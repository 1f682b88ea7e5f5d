#include <algorithm>

#include <fmt/format.h>

#include "auditd/auditor/commands.h"
#include "auditd/auditor/local_copy.h"
#include "common/files.h"
#include "auditd/ledger/checkpoint.h"
#include "auditd/ledger/verifier.h"

namespace cordon::auditor {

Result<void> verify(const VerifyOptions& options, std::ostream& out) {
  if (options.directory.empty() == options.ledger_files.empty())
    return fail(Errc::invalid_argument, "give either a local copy directory or ledger files");
  auto key = CORDON_TRY(ledger::NoteVerifierKey::parse(options.key));

  ledger::VerifyOptions verify_options;
  verify_options.key = key;
  verify_options.origin = options.origin;
  verify_options.canonical = options.canonical;
  verify_options.threads = options.threads;
  std::vector<std::filesystem::path> files;
  std::optional<LocalCopy> copy;
  if (!options.directory.empty()) {
    copy.emplace(options.directory);
    files.push_back(copy->events_path());
    verify_options.checkpoints = CORDON_TRY(copy->checkpoints());
  } else {
    files.assign(options.ledger_files.begin(), options.ledger_files.end());
  }
  for (const auto& path : options.checkpoint_files)
    verify_options.checkpoints.push_back(CORDON_TRY(read_file(path)));
  if (verify_options.checkpoints.empty())
    return fail(Errc::invalid_argument, "no signed checkpoint to verify against");
  // Keep a copy of the notes: the newest that matches becomes the accepted one.
  const auto notes = verify_options.checkpoints;

  auto report = CORDON_TRY(ledger::verify_jsonl_files(files, std::move(verify_options)));
  if (!report.ok()) {
    return fail(Errc::integrity, fmt::format("first bad index {}: {}", report.failure->index,
                                             report.failure->reason));
  }
  std::uint64_t newest = 0;
  for (const auto& checkpoint : report.checkpoints) newest = std::max(newest, checkpoint.size);
  out << fmt::format("verified {} entries: chain, Merkle root {}, {} signed checkpoint(s) up to size {} "
                     "by {}\n",
                     report.entries, ledger::hash_to_base64(report.root), report.checkpoints.size(),
                     newest, key.name);
  if (copy) {
    for (const auto& note : notes) {
      auto opened = ledger::open_checkpoint(note, key, options.origin);
      if (opened && opened->size == newest) {
        CORDON_TRY_VOID(copy->save_verified(note));
        break;
      }
    }
  }
  return ok();
}

} // namespace cordon::auditor

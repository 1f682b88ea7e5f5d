#pragma once

#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/ipc/http.h"

// The sub-commands of `cordon-audit`, the auditor's CLI. Each prints what it did to `out` and
// returns Result; the thin main turns errors into a message and a non-zero exit.
namespace cordon::auditor {

// GET `target` from the auditor API (over HTTPS in the CLI; over anything in tests).
using Fetch = std::function<Result<ipc::Response>(const std::string& target)>;

struct PullOptions {
  std::string directory;
};
// Fetches the latest signed checkpoint and every entry the local copy lacks up to its size,
// appending to DIR/events.jsonl as it goes, so an interrupted pull resumes where it stopped.
Result<void> pull(const Fetch& fetch, const PullOptions& options, std::ostream& out);

struct VerifyOptions {
  std::string directory;                  // a local copy (pull's layout), or
  std::vector<std::string> ledger_files;  // explicit JSONL files in order (segments, a sink)
  std::vector<std::string> checkpoint_files;
  std::string key;                        // the pinned verifier key (name+hex8+base64)
  std::string origin;                     // optional: required checkpoint origin
  bool canonical = false;                 // also parse every leaf in full
  unsigned threads = 0;
};
// Verifies offline: every line well-formed, indexes by position, the prev chain, the Merkle tree
// against every checkpoint (each signed by the pinned key), and — for a local copy — that the
// log still extends the checkpoint the last successful verification accepted. On success it
// records the newest checkpoint as accepted. Fails with Errc::integrity naming the first bad
// index.
Result<void> verify(const VerifyOptions& options, std::ostream& out);

enum class ExportFormat { jsonl, ocsf };
struct ExportOptions {
  std::string directory;
  ExportFormat format = ExportFormat::jsonl;
};
// Writes the local copy's events to `out`, one per line, as stored (jsonl) or as OCSF API
// Activity events (class_uid 6003).
Result<void> export_events(const ExportOptions& options, std::ostream& out);

// "hmac-sha256:<hex>" of `value` under the tenant's audit salt: what the ledger stores in place
// of a value marked sensitive, so an auditor who knows a value can find or check it.
Result<std::string> sensitive_value_hmac(const std::string& salt_file, const std::string& value);

} // namespace cordon::auditor

#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <string>

#include "common/error.h"

namespace cordon::cli {

struct LedgerExport {
  std::uint64_t size = 0;   // entries exported, all covered by the exported checkpoint
  std::string verifier_key; // what the copy was verified against (also in DIR/verifier-key)
};

// Records `tenant.offboarded` on auditd's socket, waits up to `wait` for a signed checkpoint
// that covers it, then pulls the whole log and that checkpoint into `directory` in
// `cordon-audit pull`'s layout, writes the verifier key beside them, and verifies the copy
// offline. Returns only once the copy verified; nothing in the ledger changes but the event.
Result<LedgerExport> export_final_ledger(const std::string& auditd_socket, const std::string& tenant,
                                         const std::filesystem::path& directory, std::chrono::seconds wait,
                                         std::ostream& out);

} // namespace cordon::cli

#include <fstream>

#include <fmt/format.h>

#include "auditd/auditor/commands.h"
#include "auditd/auditor/local_copy.h"
#include "common/files.h"
#include "auditd/auditor/ocsf.h"
#include "common/crypto.h"
#include "common/encoding.h"

namespace cordon::auditor {

Result<void> export_events(const ExportOptions& options, std::ostream& out) {
  LocalCopy copy(options.directory);
  std::ifstream in(copy.events_path(), std::ios::binary);
  if (!in) return fail(Errc::not_found, "cannot read " + copy.events_path().string());
  std::string line;
  std::uint64_t index = 0;
  while (std::getline(in, line)) {
    if (options.format == ExportFormat::jsonl) {
      out << line << '\n';
    } else {
      auto event = to_ocsf(line);
      if (!event) return fail(event.error().code, fmt::format("entry {}: {}", index, event.error().message));
      out << event->dump() << '\n';
    }
    ++index;
  }
  return ok();
}

Result<std::string> sensitive_value_hmac(const std::string& salt_file, const std::string& value) {
  auto salt = CORDON_TRY(read_file(salt_file));
  auto mac = crypto::hmac_sha256(as_bytes(salt), as_bytes(value));
  crypto::wipe(std::span(reinterpret_cast<std::uint8_t*>(salt.data()), salt.size()));
  return "hmac-sha256:" + to_hex(mac);
}

} // namespace cordon::auditor

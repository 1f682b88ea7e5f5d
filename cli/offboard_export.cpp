#include "cli/offboard_export.h"

#include <ostream>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "auditd/auditor/commands.h"
#include "auditd/ledger/checkpoint.h"
#include "cli/daemon_answer.h"
#include "common/files.h"
#include "common/ipc/unix_client.h"
#include "common/json.h"

namespace cordon::cli {
namespace {

Result<std::string> get_ok(ipc::UnixClient& auditd, const std::string& target) {
  return answer_body(auditd.get(target), "auditd");
}

Result<std::uint64_t> checkpoint_size(ipc::UnixClient& auditd) {
  const auto note = CORDON_TRY(get_ok(auditd, "/v1/checkpoint"));
  const auto body_end = note.find("\n\n");
  if (body_end == std::string::npos) return fail(Errc::integrity, "auditd's checkpoint is not a signed note");
  return CORDON_TRY(ledger::parse_checkpoint(std::string_view(note).substr(0, body_end + 1))).size;
}

} // namespace

Result<LedgerExport> export_final_ledger(const std::string& auditd_socket, const std::string& tenant,
                                         const std::filesystem::path& directory, std::chrono::seconds wait,
                                         std::ostream& out) {
  ipc::UnixClient auditd(auditd_socket);
  const Json event = {{"kind", "tenant.offboarded"},
                      {"actor", {{"type", "human"}, {"id", "root"}}},
                      {"data", {{"tenant", tenant}, {"export", directory.string()}}}};
  const auto index =
      CORDON_TRY(answer_json(auditd.post("/v1/events", event.dump()), "auditd", 201)).value("index", std::uint64_t{0});
  out << "recorded tenant.offboarded at index " << index << "\n";

  // The checkpointer signs a new checkpoint within its interval (10 s at most).
  const auto deadline = std::chrono::steady_clock::now() + wait;
  std::uint64_t size = CORDON_TRY(checkpoint_size(auditd));
  while (size <= index) {
    if (std::chrono::steady_clock::now() >= deadline)
      return fail(Errc::unavailable, fmt::format("no signed checkpoint covered index {} within {} s", index, wait.count()));
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    size = CORDON_TRY(checkpoint_size(auditd));
  }

  std::string key = CORDON_TRY(get_ok(auditd, "/v1/verifier-key"));
  while (!key.empty() && key.back() == '\n') key.pop_back();
  const auditor::Fetch fetch = [&auditd](const std::string& target) -> Result<ipc::Response> {
    auto response = auditd.get(target);
    if (!response) return fail(response.error().code, "cannot reach auditd: " + response.error().message);
    return std::move(*response);
  };
  std::ostringstream said;
  CORDON_TRY_VOID(auditor::pull(fetch, {directory.string()}, said));
  CORDON_TRY_VOID(write_file_atomically(directory / "verifier-key", key + "\n"));
  auditor::VerifyOptions verify;
  verify.directory = directory.string();
  verify.key = key;
  if (auto verified = auditor::verify(verify, said); !verified)
    return fail(verified.error().code, "the exported copy does not verify: " + verified.error().message);
  out << said.str();
  return LedgerExport{size, key};
}

} // namespace cordon::cli

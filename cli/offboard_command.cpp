#include "cli/offboard_command.h"

#include <ostream>
#include <thread>

#include <fmt/format.h>

#include "cli/daemon_answer.h"
#include "cli/offboard_checks.h"
#include "cli/offboard_export.h"
#include "cli/offboard_wipe.h"
#include "common/ipc/unix_client.h"
#include "common/json.h"
#include "secretsd/secretsd_config.h"

namespace cordon::cli {
namespace fs = std::filesystem;
namespace {

// Units in the order they are stopped: the gate first, so that no action starts while the log
// is exported; secretsd and auditd last, after the shred is recorded.
const std::vector<std::string> gate_units = {"cordon-agentd.service", "cordon-agentd.socket", "cordon-agentd-remote.socket",
                                             "cordon-approvald.service", "cordon-approvald.socket",
                                             "cordon-approvald-https.socket"};
const std::vector<std::string> all_patterns = {"cordon.target", "cordon-*.service", "cordon-*.socket"};

// Whether `path` is `root` or under it, by their names (neither need exist).
bool inside(const fs::path& path, const fs::path& root) {
  const auto relative = path.lexically_normal().lexically_relative(root.lexically_normal());
  return !relative.empty() && *relative.begin() != "..";
}

// The unit directory's cordon-* drop-in directories (cordon-agentd.service.d, ...).
std::vector<fs::path> dropin_directories(const fs::path& unit_dir) {
  std::vector<fs::path> found;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(unit_dir, error))
    if (entry.path().filename().string().starts_with("cordon")) found.push_back(entry.path());
  return found;
}

Result<std::string> appliance_tenant(const std::string& secretsd_socket) {
  ipc::UnixClient secretsd(secretsd_socket);
  const auto status = CORDON_TRY(answer_json(secretsd.get("/v1/status"), "secretsd"));
  if (status.value("state", "") == "shredded")
    return fail(Errc::conflict, "secretsd's vault is shredded already; offboard the rest by hand (docs/operator-guide.md)");
  return status.value("tenant", "");
}

// Step 1: nothing changes until all of these hold.
Result<std::optional<TpmObject>> preflight(const OffboardCommand& command) {
  if (command.tenant.empty() || command.tenant != command.confirm)
    return fail(Errc::invalid_argument, "--tenant and --confirm must both name the tenant being offboarded");
  const auto tenant = CORDON_TRY(appliance_tenant(command.paths.secretsd_socket));
  if (tenant != command.tenant)
    return fail(Errc::invalid_argument, fmt::format("this appliance serves tenant \"{}\", not \"{}\"", tenant, command.tenant));
  const fs::path& to = command.destination;
  if (!to.is_absolute()) return fail(Errc::invalid_argument, "--to must be an absolute path");
  for (const auto& wiped : command.paths.wiped)
    if (inside(to, wiped) || inside(wiped, to))
      return fail(Errc::invalid_argument, fmt::format("--to {} would be wiped with {}", to.string(), wiped.string()));
  std::error_code error;
  if (fs::exists(to, error) && !fs::is_empty(to, error))
    return fail(Errc::conflict, "--to " + to.string() + " is not empty");
  auto config = CORDON_TRY(secretsd::load_secretsd_config(command.paths.secretsd_config.string()));
  if (config.kek.custody != secretsd::KekCustodyKind::tpm) return std::optional<TpmObject>();
  return std::optional<TpmObject>(TpmObject{config.kek.tcti, config.kek.parent_handle});
}

Result<void> systemctl(const OffboardCommand& command, std::vector<std::string> argv) {
  argv.insert(argv.begin(), "systemctl");
  const auto ran = CORDON_TRY(command.run(argv));
  if (ran.exit_status != 0) return fail(Errc::io_error, fmt::format("{} failed: {}", fmt::join(argv, " "), ran.output));
  return ok();
}

Result<void> shred(const OffboardCommand& command) {
  ipc::UnixClient secretsd(command.paths.secretsd_socket);
  CORDON_TRY(answer_body(secretsd.post("/v1/shred", Json{{"confirm_tenant", command.tenant}}.dump()), "secretsd"));
  return ok();
}

Result<void> wipe_journal(const OffboardCommand& command, std::ostream& out) {
  const auto rotated = CORDON_TRY(command.run({"journalctl", "--rotate"}));
  if (rotated.exit_status != 0) return fail(Errc::io_error, "journalctl --rotate failed: " + rotated.output);
  // Vacuuming by time drops archived files whose newest entry is older than the limit; the
  // files just archived must be that old first.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const auto vacuumed = CORDON_TRY(command.run({"journalctl", "--vacuum-time=1s"}));
  if (vacuumed.exit_status != 0) return fail(Errc::io_error, "journalctl --vacuum-time=1s failed: " + vacuumed.output);
  out << "journal rotated and vacuumed\n";
  return ok();
}

} // namespace

Result<void> run_offboard_command(const OffboardCommand& command, std::ostream& out) {
  const auto tpm = CORDON_TRY(preflight(command));
  out << "offboarding tenant " << command.tenant << "; the log goes to " << command.destination.string() << "\n";

  std::vector<std::string> stop = {"stop"};
  stop.insert(stop.end(), gate_units.begin(), gate_units.end());
  CORDON_TRY_VOID(systemctl(command, stop));
  out << "gate closed: agentd and approvald stopped\n";
  const auto exported = CORDON_TRY(export_final_ledger(command.paths.auditd_socket, command.tenant, command.destination,
                                                       command.checkpoint_wait, out));
  out << fmt::format("exported {} entries with their signed checkpoint to {}; verifier key {}\n", exported.size,
                     command.destination.string(), exported.verifier_key);

  CORDON_TRY_VOID(shred(command));
  out << "secretsd's vault crypto-shredded\n";
  stop = {"stop"};
  stop.insert(stop.end(), all_patterns.begin(), all_patterns.end());
  CORDON_TRY_VOID(systemctl(command, stop));
  CORDON_TRY_VOID(systemctl(command, {"disable", "--quiet", "cordon.target"}));
  out << "every Cordon unit stopped; cordon.target disabled\n";

  for (const auto& path : command.paths.wiped) {
    const auto files = CORDON_TRY(wipe_tree(path));
    out << fmt::format("wiped {} ({} files overwritten)\n", path.string(), files);
  }
  for (const auto& dropins : dropin_directories(command.paths.unit_dir)) {
    const auto files = CORDON_TRY(wipe_tree(dropins));
    out << fmt::format("wiped {} ({} files overwritten)\n", dropins.string(), files);
  }
  CORDON_TRY_VOID(systemctl(command, {"daemon-reload"}));
  CORDON_TRY_VOID(wipe_journal(command, out));

  LeftoverScope scope{command.paths.wiped, command.paths.unit_dir, tpm};
  bool clean = true;
  for (const auto& check : check_nothing_left(scope, command.run)) {
    out << (check.passed ? "ok: " : "FAIL: ") << check.what << (check.detail.empty() ? "" : " (" + check.detail + ")") << "\n";
    clean = clean && check.passed;
  }
  if (!clean) return fail(Errc::integrity, "offboarding left something behind (FAIL above)");
  out << "tenant " << command.tenant << " offboarded; nothing of it is left on this host\n";
  return ok();
}

} // namespace cordon::cli

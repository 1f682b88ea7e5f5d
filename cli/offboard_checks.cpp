#include "cli/offboard_checks.h"

#include <fmt/format.h>

#include "secretsd/kek/tpm_commands.h"
#include "secretsd/kek/tpm_connection.h"

namespace cordon::cli {
namespace fs = std::filesystem;
namespace {

// The entries under `dir` (at any depth when `deep`) whose names start with `prefix`.
std::vector<std::string> entries_starting(const fs::path& dir, std::string_view prefix, bool deep) {
  std::vector<std::string> found;
  std::error_code error;
  const auto consider = [&](const fs::directory_entry& entry) {
    if (entry.path().filename().string().starts_with(prefix)) found.push_back(entry.path().lexically_relative(dir).string());
  };
  if (deep) {
    for (auto it = fs::recursive_directory_iterator(dir, error); !error && it != fs::recursive_directory_iterator(); it.increment(error))
      consider(*it);
  } else {
    for (const auto& entry : fs::directory_iterator(dir, error)) consider(entry);
  }
  return found;
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) out += (out.empty() ? "" : ", ") + name;
  return out;
}

LeftoverCheck from_program(const std::string& what, const RunProgram& run, const std::vector<std::string>& argv,
                           const std::function<bool(const ProgramOutput&)>& clean) {
  auto ran = run(argv);
  if (!ran) return {what, false, ran.error().message};
  const bool passed = clean(*ran);
  return {what, passed, passed ? "" : ran->output.substr(0, 500)};
}

// The entries logged by or about each installed Cordon unit, matched field by field: `-u` with
// a pattern fails outright once no entry matches, which cannot be told from other failures.
LeftoverCheck journal_check(const RunProgram& run) {
  const std::string what = "no journal entries of a Cordon unit";
  auto listed = run({"systemctl", "list-unit-files", "--no-legend", "--plain", "cordon*"});
  if (!listed) return {what, false, listed.error().message};
  std::vector<std::string> argv = {"journalctl", "--no-pager", "-q", "-o", "cat"};
  std::size_t units = 0;
  for (std::size_t start = 0; start < listed->output.size();) {
    auto end = listed->output.find('\n', start);
    if (end == std::string::npos) end = listed->output.size();
    const auto line = listed->output.substr(start, end - start);
    start = end + 1;
    const auto unit = line.substr(0, line.find(' '));
    if (!unit.starts_with("cordon")) continue;
    for (const char* field : {"_SYSTEMD_UNIT=", "UNIT=", "OBJECT_SYSTEMD_UNIT="}) {
      if (argv.size() > 5) argv.push_back("+");
      argv.push_back(field + unit);
    }
    ++units;
  }
  if (units == 0) return {what, false, "systemctl lists no Cordon unit files to look for"};
  return from_program(what, run, argv, [](const ProgramOutput& out) { return out.exit_status == 0 && out.output.empty(); });
}

} // namespace

Result<bool> tpm_holds_object(const TpmObject& object) {
  auto tpm = CORDON_TRY(secretsd::tpm::Connection::connect(object.tcti));
  auto found = CORDON_TRY(secretsd::tpm::persistent_object(*tpm, object.handle));
  return found.has_value();
}

std::vector<LeftoverCheck> check_nothing_left(const LeftoverScope& scope, const RunProgram& run) {
  std::vector<LeftoverCheck> checks;
  for (const auto& path : scope.paths) {
    std::error_code error;
    const bool exists = fs::symlink_status(path, error).type() != fs::file_type::not_found;
    checks.push_back({"no " + path.string(), !exists, exists ? "it still exists" : ""});
  }
  // Drop-in directories, and the symlinks that enable a unit (multi-user.target.wants/...).
  const auto dropins = entries_starting(scope.unit_dir, "cordon", true);
  checks.push_back({"no Cordon drop-in, unit or enablement under " + scope.unit_dir.string(), dropins.empty(), joined(dropins)});
  const auto credentials = entries_starting("/run/credentials", "cordon-", false);
  checks.push_back({"no credentials of a Cordon unit in /run/credentials", credentials.empty(), joined(credentials)});

  // `systemctl list-units` prints nothing when no loaded unit matches in those states.
  checks.push_back(from_program("no Cordon unit active", run,
                                {"systemctl", "list-units", "--all", "--plain", "--no-legend",
                                 "--state=active,activating,deactivating,reloading", "cordon*"},
                                [](const ProgramOutput& out) { return out.exit_status == 0 && out.output.empty(); }));
  checks.push_back(from_program("cordon.target is not enabled", run, {"systemctl", "is-enabled", "cordon.target"},
                                [](const ProgramOutput& out) { return out.output.find("enabled") != 0; }));
  checks.push_back(journal_check(run));
  if (scope.tpm) {
    const std::string what = fmt::format("no TPM object at 0x{:08x}", scope.tpm->handle);
    auto held = tpm_holds_object(*scope.tpm);
    if (!held) checks.push_back({what, false, held.error().message});
    else checks.push_back({what, !*held, *held ? "the TPM still holds it" : ""});
  }
  return checks;
}

} // namespace cordon::cli

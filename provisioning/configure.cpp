#include "provisioning/configure.h"

#include <unistd.h>

#include "common/program.h"
#include "provisioning/bundle_source.h"
#include "provisioning/file_installer.h"
#include "provisioning/install_plan.h"
#include "provisioning/paths.h"

namespace cordon::provisioning {
namespace {

Result<void> reload_systemd() {
  const auto reloaded = CORDON_TRY(run_program({"systemctl", "daemon-reload"}));
  if (reloaded.exit_status != 0)
    return fail(Errc::io_error, "systemctl daemon-reload failed; the drop-ins take effect at the next reload: " + reloaded.output);
  return ok();
}

} // namespace

Result<Bundle> check_bundle(std::string_view text, std::chrono::system_clock::time_point now) {
  auto bundle = parse_bundle(text, now);
  if (!bundle) return fail(bundle.error().code, "the bundle is not valid: " + bundle.error().message);
  return bundle;
}

Result<ConfigureReport> configure(const ConfigureOptions& options) {
  const auto now = std::chrono::system_clock::now();
  const auto source = CORDON_TRY(find_bundle(options.bundle, options.drive_wait));
  auto checked = check_bundle(source.text, now);
  if (!checked) return fail(checked.error().code, checked.error().message + " (read from " + source.origin + ")");
  const Bundle& bundle = *checked;

  PlanOptions plan_options;
  plan_options.root = options.root;
  plan_options.constitution_source = options.constitution_source.value_or(options.root / paths::shipped_constitution_dir);
  plan_options.render = options.render;
  plan_options.now = now;
  const auto plan = CORDON_TRY(plan_installation(bundle, plan_options));

  CORDON_TRY_VOID(install(plan, options.root, ::geteuid() == 0 ? Ownership::apply : Ownership::skip));
  std::error_code error;
  if (options.reload && std::filesystem::equivalent(options.root, "/", error)) CORDON_TRY_VOID(reload_systemd());

  ConfigureReport report;
  report.bundle_origin = source.origin;
  report.summary = describe(bundle);
  for (const auto& file : plan.files) report.written.push_back(file.path);
  return report;
}

} // namespace cordon::provisioning

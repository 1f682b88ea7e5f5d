// cordon-provision: the appliance's first-boot provisioning (docs/provisioning.md).
//   check BUNDLE    parse and check a bundle, write nothing
//   configure       bundle → the four daemons' configuration, TLS, drop-ins (before they start)
//   enroll          secrets into secretsd, tenant.provisioned into the audit log (once they run)
#include <chrono>
#include <iostream>

#include <CLI/CLI.hpp>

#include "provisioning/bundle_source.h"
#include "provisioning/configure.h"
#include "provisioning/enrollment.h"

namespace {

int failed(const cordon::Error& error) {
  std::cerr << "cordon-provision: " << error.message << "\n";
  return 1;
}

int run_check(const std::string& path) {
  auto text = cordon::provisioning::read_bundle_file(path);
  if (!text) return failed(text.error());
  auto bundle = cordon::provisioning::check_bundle(*text, std::chrono::system_clock::now());
  if (!bundle) return failed(bundle.error());
  std::cout << "bundle ok: " << describe(*bundle) << "\n";
  return 0;
}

int run_configure(const cordon::provisioning::ConfigureOptions& options) {
  auto report = cordon::provisioning::configure(options);
  if (!report) return failed(report.error());
  std::cout << "configured from " << report->bundle_origin << ": " << report->summary << "\n";
  for (const auto& path : report->written) std::cout << "  wrote " << path << "\n";
  return 0;
}

int run_enroll(const cordon::provisioning::EnrollOptions& options) {
  auto report = cordon::provisioning::enroll(options);
  if (!report) return failed(report.error());
  if (report->already_enrolled) {
    std::cerr << "cordon-provision: " << report->console;
    return 0;
  }
  std::cout << report->console;
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"cordon-provision: turn a provisioning bundle into a configured Cordon appliance"};
  app.require_subcommand(1);

  std::string check_path;
  auto* check = app.add_subcommand("check", "parse and check a bundle; write nothing");
  check->add_option("bundle", check_path, "the bundle (TOML)")->required();

  cordon::provisioning::ConfigureOptions configure;
  std::string constitution_source;
  auto* configure_command = app.add_subcommand("configure", "write the daemons' configuration from a bundle");
  configure_command->add_option("--bundle", configure.bundle,
                                "the bundle (default: the system credential cordon.bundle, else the CORDON-CFG drive)");
  configure_command->add_option("--root", configure.root, "write under this directory")->capture_default_str();
  configure_command->add_option("--constitution-source", constitution_source,
                                "the default constitution, used when the bundle has none "
                                "(default: ROOT/usr/share/cordon/constitution.d)");
  bool no_reload = false;
  configure_command->add_flag("--no-reload", no_reload, "do not run systemctl daemon-reload");

  cordon::provisioning::EnrollOptions enroll;
  auto* enroll_command = app.add_subcommand("enroll", "store secrets in secretsd and record tenant.provisioned");
  enroll_command->add_option("--root", enroll.root, "read and write under this directory")->capture_default_str();
  enroll_command->add_option("--secretsd-socket", enroll.secretsd_socket, "secretsd's socket")->capture_default_str();
  enroll_command->add_option("--auditd-socket", enroll.auditd_socket, "auditd's socket")->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error) == 0 ? 0 : 2;
  }
  if (check->parsed()) return run_check(check_path);
  if (configure_command->parsed()) {
    configure.reload = !no_reload;
    if (!constitution_source.empty()) configure.constitution_source = constitution_source;
    return run_configure(configure);
  }
  return run_enroll(enroll);
}

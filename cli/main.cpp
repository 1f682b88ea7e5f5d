// cordonctl: the admin CLI on the host. A table of sub-commands; each talks to one daemon's Unix
// socket, where the daemon checks that the caller is root (the admin role).
#include <cstdlib>
#include <iostream>

#include <CLI/CLI.hpp>

#include "cli/approvals_command.h"
#include "cli/mode_command.h"
#include "cli/offboard_command.h"
#include "cli/policy_command.h"
#include "cli/runs_command.h"
#include "cli/secrets_command.h"
#include "cli/status_command.h"

namespace {
// The exit status of a sub-command: 0, or 1 with its error on stderr.
int finish(const cordon::Result<void>& result) {
  if (result) return 0;
  std::cerr << "cordonctl: " << result.error().message << "\n";
  return 1;
}
} // namespace

int main(int argc, char** argv) {
  CLI::App app{"cordonctl: manage a Cordon appliance"};
  app.require_subcommand(1);
  cordon::cli::SecretsCommand secrets;
  if (const char* socket = std::getenv("CORDON_SECRETSD_SOCKET")) secrets.socket = socket;

  auto* group = app.add_subcommand("secrets", "secretsd's vault: values are read from a file or stdin, never argv");
  group->add_option("--socket", secrets.socket, "secretsd's socket ($CORDON_SECRETSD_SOCKET)")->capture_default_str();
  group->require_subcommand(1);
  auto* put = group->add_subcommand("put", "store a new secret");
  put->add_option("name", secrets.name, "short name, e.g. github-token")->required();
  put->add_option("--tools", secrets.tools, "tools whose decisions may lease it")->required()->delimiter(',');
  put->add_option("--from-file", secrets.from_file, "read the value from this file (default: stdin)");
  put->add_flag("--keep-newline", secrets.keep_newline, "keep a trailing newline read from stdin");
  auto* rotate = group->add_subcommand("rotate", "store a new version of a secret");
  rotate->add_option("name", secrets.name, "short name")->required();
  rotate->add_option("--tools", secrets.tools, "replace its scope")->delimiter(',');
  rotate->add_option("--from-file", secrets.from_file, "read the value from this file (default: stdin)");
  rotate->add_flag("--keep-newline", secrets.keep_newline, "keep a trailing newline read from stdin");
  auto* remove = group->add_subcommand("delete", "delete every version of a secret");
  remove->add_option("name", secrets.name, "short name")->required();
  auto* list = group->add_subcommand("list", "list secrets (metadata only)");

  cordon::cli::PolicyCommand policy;
  if (const char* socket = std::getenv("CORDON_APPROVALD_SOCKET")) policy.socket = socket;
  auto* policy_group = app.add_subcommand("policy", "approvald's constitution");
  policy_group->add_option("--socket", policy.socket, "approvald's socket ($CORDON_APPROVALD_SOCKET)")->capture_default_str();
  policy_group->require_subcommand(1);
  auto* reload = policy_group->add_subcommand("reload", "read the constitution directory again (a broken one is refused)");
  policy_group->add_subcommand("status", "the policy version in force, the mode and pending approvals");

  cordon::cli::ModeCommand mode;
  mode.socket = policy.socket;
  auto* mode_group = app.add_subcommand("mode", "the tenant's mode; `mode live` asks approvers to end the dry-run period");
  mode_group->add_option("--socket", mode.socket, "approvald's socket ($CORDON_APPROVALD_SOCKET)")->capture_default_str();
  mode_group->add_option("requested", mode.requested, "live")->check(CLI::IsMember({"live"}));

  cordon::cli::RunsCommand runs;
  if (const char* socket = std::getenv("CORDON_AGENTD_SOCKET")) runs.socket = socket;
  auto* runs_group = app.add_subcommand("runs", "agentd's runs: what an agent's session acts for, with its trusted task");
  runs_group->add_option("--socket", runs.socket, "agentd's socket ($CORDON_AGENTD_SOCKET)")->capture_default_str();
  runs_group->require_subcommand(1);
  auto* register_run = runs_group->add_subcommand("register", "register a run; prints its id on the first line");
  register_run->add_option("--agent", runs.agent, "the agent's id, e.g. support-bot")->required();
  register_run->add_option("--task", runs.task, "the trusted task text, as the operator states it")->required();
  auto* show_run = runs_group->add_subcommand("show", "a run as agentd holds it: task, flags, untrusted spans");
  show_run->add_option("id", runs.id, "the run's id")->required();

  cordon::cli::ApprovalsCommand approvals;
  approvals.socket = policy.socket;
  auto* approvals_group = app.add_subcommand("approvals", "the pending approvals: what is held, why, and who answered");
  approvals_group->add_option("--socket", approvals.socket, "approvald's socket ($CORDON_APPROVALD_SOCKET)")->capture_default_str();

  cordon::cli::StatusCommand status;
  if (const char* socket = std::getenv("CORDON_AUDITD_SOCKET")) status.auditd_socket = socket;
  status.secretsd_socket = secrets.socket;
  status.approvald_socket = policy.socket;
  status.agentd_socket = runs.socket;
  auto* status_group = app.add_subcommand(
      "status", "the daemons, the mode, KEK custody, the ledger and its last checkpoint, pending approvals");

  cordon::cli::OffboardCommand offboard;
  offboard.paths.auditd_socket = status.auditd_socket;
  offboard.paths.secretsd_socket = secrets.socket;
  std::string offboard_to;
  auto* offboard_group = app.add_subcommand(
      "offboard", "export the final log, crypto-shred, stop and wipe everything of the tenant, then check nothing is left");
  offboard_group->add_option("--tenant", offboard.tenant, "the tenant being offboarded")->required();
  offboard_group->add_option("--confirm", offboard.confirm, "the tenant's id again")->required();
  offboard_group->add_option("--to", offboard_to, "an empty directory outside Cordon's for the exported log")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error) == 0 ? 0 : 2;
  }
  if (approvals_group->parsed()) return finish(cordon::cli::run_approvals_command(approvals, std::cout));
  if (status_group->parsed()) return finish(cordon::cli::run_status_command(status, std::cout));
  if (offboard_group->parsed()) {
    offboard.destination = offboard_to;
    return finish(cordon::cli::run_offboard_command(offboard, std::cout));
  }
  if (mode_group->parsed()) return finish(cordon::cli::run_mode_command(mode, std::cout));
  if (runs_group->parsed()) {
    runs.action = register_run->parsed() ? cordon::cli::RunsCommand::Action::register_run : cordon::cli::RunsCommand::Action::show;
    return finish(cordon::cli::run_runs_command(runs, std::cout));
  }
  if (policy_group->parsed()) {
    policy.action = reload->parsed() ? cordon::cli::PolicyCommand::Action::reload : cordon::cli::PolicyCommand::Action::status;
    return finish(cordon::cli::run_policy_command(policy, std::cout));
  }
  using Action = cordon::cli::SecretsCommand::Action;
  secrets.action = put->parsed() ? Action::put : rotate->parsed() ? Action::rotate : remove->parsed() ? Action::remove : Action::list;
  (void)list;
  return finish(cordon::cli::run_secrets_command(secrets, std::cin, std::cout));
}

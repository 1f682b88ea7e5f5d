// cordonctl offboard against a running auditd and secretsd: the refusals change nothing; a
// full offboarding exports a log that cordon-audit verifies offline, shreds the vault, wipes
// what it names and checks it. systemctl and journalctl are the seam here: a recorder that
// stops the test's daemons when asked to stop every unit. The booted appliance runs the real
// ones (system.vm offboarding test).
#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>

#include "cli/offboard_command.h"
#include "common/files.h"
#include "common/ipc/unix_client.h"
#include "common/json.h"
#include "tests/support/auditd_process.h"
#include "tests/support/secretsd_process.h"
#include "tests/support/temp_dir.h"

using namespace cordon;
using namespace cordon::testing;
namespace fs = std::filesystem;

namespace {

struct Appliance {
  Appliance()
      : auditd([&] {
          AuditdProcessOptions options;
          options.directory = directory.path();
          options.checkpoint_interval_ms = 200;
          return options;
        }()),
        secretsd([&] {
          SecretsdProcessOptions options;
          options.directory = directory.path();
          options.audit_socket = auditd.socket_path();
          return options;
        }()) {
    REQUIRE(auditd.start());
    REQUIRE(secretsd.start());
    fs::create_directories(unit_dir / "cordon-agentd.service.d");
    std::ofstream(unit_dir / "cordon-agentd.service.d/50-egress.conf") << "[Service]\nIPAddressAllow=192.0.2.1\n";
    fs::create_directories(unit_dir / "multi-user.target.wants");
  }

  cli::OffboardCommand command(const fs::path& to) {
    cli::OffboardCommand c;
    c.tenant = c.confirm = "test";
    c.destination = to;
    c.paths.auditd_socket = auditd.socket_path();
    c.paths.secretsd_socket = secretsd.socket_path();
    c.paths.secretsd_config = secretsd.config_path();
    c.paths.wiped = {directory / "secretsd-state", directory / "auditd-state", directory / "etc"};
    c.paths.unit_dir = unit_dir;
    c.run = [this](const std::vector<std::string>& argv) -> Result<ProgramOutput> {
      ran.push_back(argv);
      if (argv.size() > 1 && argv[0] == "systemctl" && argv[1] == "stop" &&
          std::find(argv.begin(), argv.end(), "cordon.target") != argv.end()) {
        secretsd.stop();
        auditd.stop();
      }
      if (argv.size() > 1 && argv[1] == "is-enabled") return ProgramOutput{1, "disabled\n"};
      if (argv.size() > 1 && argv[1] == "list-unit-files")
        return ProgramOutput{0, "cordon-auditd.service disabled enabled\ncordon.target enabled enabled\n"};
      return ProgramOutput{0, ""};
    };
    return c;
  }

  std::string events() {
    ipc::UnixClient client(auditd.socket_path());
    return client.get("/v1/events")->body;
  }

  TempDir directory{"cordon-offboard"};
  TempDir elsewhere{"cordon-export"};
  fs::path unit_dir = directory / "systemd";
  AuditdProcess auditd;
  SecretsdProcess secretsd;
  std::vector<std::vector<std::string>> ran;
};

} // namespace

TEST_CASE("offboarding refuses a wrong tenant, a wrong confirmation and a destination it would wipe, and changes nothing") {
  Appliance appliance;
  fs::create_directories(appliance.directory / "etc");
  std::ofstream(appliance.directory / "etc/agentd.toml") << "tenant = \"test\"\n";
  const auto before = appliance.events();
  struct Case {
    std::string tenant, confirm;
    fs::path to;
    std::string says;
  };
  fs::create_directories(appliance.elsewhere / "full");
  std::ofstream(appliance.elsewhere / "full/old.txt") << "x";
  const std::vector<Case> cases = {
      {"test", "tset", appliance.elsewhere / "out", "--tenant and --confirm must both name"},
      {"", "", appliance.elsewhere / "out", "--tenant and --confirm must both name"},
      {"acme", "acme", appliance.elsewhere / "out", "serves tenant \"test\", not \"acme\""},
      {"test", "test", "relative/out", "--to must be an absolute path"},
      {"test", "test", appliance.directory / "etc/export", "would be wiped"},
      {"test", "test", appliance.directory.path(), "would be wiped"},
      {"test", "test", appliance.elsewhere / "full", "is not empty"},
  };
  for (const auto& c : cases) {
    INFO(c.tenant << " " << c.confirm << " " << c.to);
    auto command = appliance.command(c.to);
    command.tenant = c.tenant;
    command.confirm = c.confirm;
    std::ostringstream out;
    auto result = cli::run_offboard_command(command, out);
    REQUIRE_FALSE(result);
    CHECK_THAT(result.error().message, Catch::Contains(c.says));
    CHECK(appliance.ran.empty()); // not a unit was stopped
  }
  CHECK(appliance.events() == before);
  CHECK(fs::exists(appliance.directory / "etc/agentd.toml"));
  ipc::UnixClient secretsd(appliance.secretsd.socket_path());
  CHECK(parse_json(secretsd.get("/v1/status")->body).value()["state"] == "ready");
}

TEST_CASE("offboarding exports a log that verifies offline, shreds the vault, wipes what it names and checks it") {
  Appliance appliance;
  fs::create_directories(appliance.directory / "etc/tls");
  std::ofstream(appliance.directory / "etc/tls/server.key") << "-----BEGIN PRIVATE KEY-----\n";
  const fs::path to = appliance.elsewhere / "final";
  auto command = appliance.command(to);
  std::ostringstream out;
  auto result = cli::run_offboard_command(command, out);
  INFO(out.str());
  INFO((result ? std::string() : result.error().message));
  REQUIRE(result);
  CHECK_THAT(out.str(), Catch::Contains("gate closed"));
  CHECK_THAT(out.str(), Catch::Contains("secretsd's vault crypto-shredded"));
  CHECK_THAT(out.str(), Catch::Contains("ok: no " + (appliance.directory / "secretsd-state").string()));
  CHECK_THAT(out.str(), Catch::Contains("ok: no journal entries of a Cordon unit"));
  const std::vector<std::string> journal = {"journalctl", "--no-pager", "-q", "-o", "cat",
                                            "_SYSTEMD_UNIT=cordon-auditd.service", "+", "UNIT=cordon-auditd.service", "+",
                                            "OBJECT_SYSTEMD_UNIT=cordon-auditd.service", "+", "_SYSTEMD_UNIT=cordon.target", "+",
                                            "UNIT=cordon.target", "+", "OBJECT_SYSTEMD_UNIT=cordon.target"};
  CHECK(std::find(appliance.ran.begin(), appliance.ran.end(), journal) != appliance.ran.end());
  CHECK_THAT(out.str(), Catch::EndsWith("tenant test offboarded; nothing of it is left on this host\n"));

  // The gate was closed before the export, everything stopped after the shred.
  REQUIRE(appliance.ran.size() >= 4);
  CHECK(appliance.ran[0][1] == "stop");
  CHECK(appliance.ran[0][2] == "cordon-agentd.service");
  CHECK(std::find(appliance.ran.begin(), appliance.ran.end(),
                  std::vector<std::string>{"systemctl", "disable", "--quiet", "cordon.target"}) != appliance.ran.end());

  // The export is cordon-audit's layout and verifies with the verifier key beside it.
  std::string key = read_file(to / "verifier-key").value();
  key.pop_back();
  auto verified = run_command(binary_path("cordon-audit") + " verify --dir " + to.string() + " --key '" + key + "'");
  INFO(verified.output);
  CHECK(verified.status == 0);
  const std::string log = read_file(to / "events.jsonl").value();
  CHECK_THAT(log, Catch::Contains("\"kind\":\"tenant.offboarded\""));
  CHECK_FALSE(fs::exists(appliance.directory / "secretsd-state"));
  CHECK_FALSE(fs::exists(appliance.directory / "auditd-state"));
  CHECK_FALSE(fs::exists(appliance.directory / "etc"));
  CHECK_FALSE(fs::exists(appliance.unit_dir / "cordon-agentd.service.d"));
}

TEST_CASE("offboarding stops, before anything is wiped, when the export cannot be made") {
  Appliance appliance;
  appliance.auditd.stop(); // auditd down: no event, no export
  auto command = appliance.command(appliance.elsewhere / "final");
  std::ostringstream out;
  auto result = cli::run_offboard_command(command, out);
  REQUIRE_FALSE(result);
  CHECK_THAT(result.error().message, Catch::Contains("cannot reach auditd"));
  REQUIRE(appliance.auditd.start());
  ipc::UnixClient secretsd(appliance.secretsd.socket_path());
  CHECK(parse_json(secretsd.get("/v1/status")->body).value()["state"] == "ready");
  CHECK(fs::exists(appliance.directory / "secretsd-state"));
  CHECK(fs::exists(appliance.unit_dir / "cordon-agentd.service.d/50-egress.conf"));
}

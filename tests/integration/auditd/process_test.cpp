// What every daemon's shared main (common/ipc/daemon_main.h) sets up, seen from outside in a
// running cordon-auditd.
#include <fstream>
#include <string>

#include "helpers.h"

using namespace cordon;
using namespace cordon::testing;

TEST_CASE("a daemon runs with transparent huge pages off (THP_enabled: 0 in its /proc status)") {
  RunningAuditd auditd;
  std::ifstream status("/proc/" + std::to_string(auditd.process.pid()) + "/status");
  REQUIRE(status);
  std::string line, thp;
  while (std::getline(status, line))
    if (line.rfind("THP_enabled:", 0) == 0) thp = line;
  CHECK(thp == "THP_enabled:\t0");
}

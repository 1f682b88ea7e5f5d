#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

#include "common/error.h"
#include "tests/support/temp_dir.h"

namespace cordon::testing {

// What TempSwtpm::handles() lists.
enum class TpmHandleKind {
  persistent,     // objects made persistent with TPM2_EvictControl
  transient,      // loaded objects: a leak if any remain after a TpmKek call (swtpm has no RM)
  loaded_session, // open authorization sessions: likewise
};

// A real, private software TPM 2.0 for tests: `swtpm socket --tpm2` listening on two free
// loopback TCP ports (the TPM at port(), its control channel at port() + 1), its state in a fresh
// TempDir, started with `--flags not-need-init,startup-clear` so it takes commands at once.
//
// The process is a child of this process, tied to the thread that (re)started it by
// PR_SET_PDEATHSIG, so a crashed test leaves no swtpm behind. The destructor stops it and
// removes the directory.
//
// swtpm serves one connection at a time, so a TpmKek call (which connects for the call only) or
// a tpm2-tools command must end before the next begins; single-threaded tests get that for free.
//
//   auto tpm = cordon::testing::TempSwtpm::create().value();
//   options.tcti = tpm->tcti();         // "swtpm:host=127.0.0.1,port=P"
//   tpm->stop(); tpm->start();          // a reboot: NV state (persistent objects) kept, PCRs reset
//   tpm->extend_pcr(16, "a different boot");
//   tpm->clear();                       // TPM2_Clear: new owner seed, owner objects evicted
class TempSwtpm {
public:
  static Result<std::unique_ptr<TempSwtpm>> create();
  ~TempSwtpm();
  TempSwtpm(const TempSwtpm&) = delete;
  TempSwtpm& operator=(const TempSwtpm&) = delete;

  // The tpm2-tss TCTI configuration string; the same after stop() and start().
  std::string tcti() const;
  int port() const { return m_port; }
  // Holds the TPM state (`state/`) and swtpm's log (`swtpm.log`).
  const std::filesystem::path& directory() const { return m_directory.path(); }
  bool running() const { return m_pid > 0; }

  // Stops swtpm (SIGTERM; SIGKILL after 10 s) and waits for it to exit.
  Result<void> stop();
  // Starts the stopped swtpm again on the same ports and state, and waits until it answers a
  // TPM command. Like a reboot: persistent objects and NV stay, PCRs start from zero.
  Result<void> start();

  // Extends SHA-256 PCR `index` with SHA-256(`data`) (tpm2_pcrextend).
  Result<void> extend_pcr(unsigned index, std::string_view data);
  // TPM2_Clear under the lockout hierarchy (tpm2_clear), as an owner "clearing the TPM" does.
  Result<void> clear();
  // The handles of that kind the TPM holds, ascending (tpm2_getcap handles-<kind>).
  Result<std::vector<std::uint32_t>> handles(TpmHandleKind kind);
  // Runs a tpm2-tools program (e.g. "tpm2_createprimary") against this TPM with the working
  // directory directory() and returns what it wrote to stdout and stderr. Errc::unavailable,
  // with that output, when it does not exit with 0 within 60 s.
  Result<std::string> run_tool(std::string_view program, const std::vector<std::string>& arguments);

  // The end of swtpm's log, for failure messages.
  std::string log_tail(std::size_t max_bytes = 4000) const;

private:
  TempSwtpm() = default;
  Result<void> wait_until_ready();

  TempDir m_directory{"cordon-swtpm"};
  int m_port = 0;
  pid_t m_pid = -1;
};

} // namespace cordon::testing

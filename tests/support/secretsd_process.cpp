#include "tests/support/secretsd_process.h"

#include <chrono>
#include <sstream>

#include <unistd.h>

#include "common/files.h"
#include "common/ipc/unix_client.h"
#include "tests/support/auditd_process.h"
#include "tests/support/child_process.h"

namespace cordon::testing {

SecretsdProcess::SecretsdProcess(SecretsdProcessOptions options) : m_options(std::move(options)) {
  if (m_options.state_dir.empty()) m_options.state_dir = m_options.directory / "secretsd-state";
}

SecretsdProcess::~SecretsdProcess() {
  if (m_pid > 0) stop(SIGTERM);
}

std::string SecretsdProcess::socket_path() const { return (m_options.directory / "secretsd.sock").string(); }
std::filesystem::path SecretsdProcess::log_path() const { return m_options.directory / "secretsd.log"; }
std::string SecretsdProcess::config_path() const { return (m_options.directory / "secretsd.toml").string(); }

std::string SecretsdProcess::log_tail() const {
  auto text = read_file(log_path());
  if (!text) return "(no log)";
  return text->size() > 4000 ? text->substr(text->size() - 4000) : *text;
}

Result<void> SecretsdProcess::write_config() const {
  std::ostringstream toml;
  toml << "tenant = \"" << m_options.tenant << "\"\n\n"
       << "[[peers]]\nuid = " << ::getuid()
       << "\nprincipal = \"tester\"\nroles = [\"admin\", \"agentd\", \"approvald\", \"auditd\"]\n\n"
       << "[[peers]]\nuid = 65534\nprincipal = \"stranger\"\nroles = [\"none\"]\n\n"
       << "[[peers]]\nuid = 65533\nprincipal = \"agent\"\nroles = [\"agentd\"]\n\n"
       << "[secretsd]\nsocket = \"" << socket_path() << "\"\nsocket_mode = \"0666\"\nstate_dir = \""
       << m_options.state_dir.string() << "\"\naudit_socket = \"" << m_options.audit_socket
       << "\"\nlease_ttl_s = " << m_options.lease_ttl_s << "\n\n[secretsd.kek]\ncustody = \"" << m_options.custody << "\"\n";
  if (!m_options.tcti.empty()) toml << "tcti = \"" << m_options.tcti << "\"\n";
  if (!m_options.pcrs.empty()) {
    toml << "pcrs = [";
    for (std::size_t i = 0; i < m_options.pcrs.size(); ++i) toml << (i ? ", " : "") << '"' << m_options.pcrs[i] << '"';
    toml << "]\n";
  }
  return write_file_atomically(config_path(), toml.str());
}

Result<void> SecretsdProcess::start() {
  if (m_pid > 0) return fail(Errc::conflict, "secretsd already running");
  CORDON_TRY_VOID(write_config());
  m_pid = CORDON_TRY(spawn_child(binary_path("cordon-secretsd"), {"--config", config_path()}, log_path().string()));
  return await_child_ready(
      m_pid, "secretsd",
      [this] {
        ipc::UnixClient client(socket_path(), ipc::ClientOptions{.timeout = std::chrono::milliseconds(500)});
        auto answer = client.get("/v1/status");
        return answer && answer->status == 200;
      },
      [this] { return log_tail(); });
}

int SecretsdProcess::stop(int signal) {
  if (m_pid <= 0) return -1;
  const int status = stop_child(m_pid, signal);
  m_pid = -1;
  return status;
}

} // namespace cordon::testing

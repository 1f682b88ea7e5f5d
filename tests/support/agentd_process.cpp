#include "tests/support/agentd_process.h"

#include <sstream>

#include <unistd.h>

#include "common/files.h"
#include "common/ipc/unix_client.h"
#include "tests/support/auditd_process.h"
#include "tests/support/child_process.h"

namespace cordon::testing {

AgentdProcess::AgentdProcess(AgentdProcessOptions options) : m_options(std::move(options)) {
  if (m_options.markers_file.empty()) {
    m_options.markers_file = std::filesystem::path(CORDON_SOURCE_DIR) / "services/injection-markers.toml";
  }
}

AgentdProcess::~AgentdProcess() {
  if (m_pid > 0) stop(SIGTERM);
}

std::string AgentdProcess::socket_path() const { return (m_options.directory / "agentd.sock").string(); }
std::filesystem::path AgentdProcess::workspace() const { return m_options.directory / "workspace"; }
std::filesystem::path AgentdProcess::log_path() const { return m_options.directory / "agentd.log"; }
std::string AgentdProcess::config_path() const { return (m_options.directory / "agentd.toml").string(); }

std::string AgentdProcess::log_tail() const {
  auto text = read_file(log_path());
  if (!text) return "(no log)";
  return text->size() > 4000 ? text->substr(text->size() - 4000) : *text;
}

Result<void> AgentdProcess::write_config() const {
  std::ostringstream toml;
  toml << "tenant = \"" << m_options.tenant << "\"\n\n"
       << "[[peers]]\nuid = " << ::getuid()
       << "\nprincipal = \"tester\"\nroles = [\"admin\", \"agent\", \"integration\", \"agentd\"]\n\n"
       << "[[peers]]\nuid = 65534\nprincipal = \"stranger\"\nroles = [\"none\"]\n\n"
       << "[agentd]\nsocket = \"" << socket_path() << "\"\nsocket_mode = \"0666\"\nstate_dir = \""
       << (m_options.directory / "agentd-state").string() << "\"\nworkspace = \"" << workspace().string()
       << "\"\naudit_socket = \"" << m_options.audit_socket << "\"\napprovald_socket = \"" << m_options.approvald_socket
       << "\"\nsecretsd_socket = \"" << m_options.secretsd_socket << "\"\nmarkers_file = \""
       << m_options.markers_file.string() << "\"\napproval_url = \"" << m_options.approval_url
       << "\"\nmax_result_bytes = " << m_options.max_result_bytes << "\n"
       << m_options.extra_toml << "\n";
  return write_file_atomically(config_path(), toml.str());
}

Result<void> AgentdProcess::start() {
  if (m_pid > 0) return fail(Errc::conflict, "agentd already running");
  std::error_code ignored;
  std::filesystem::create_directories(workspace(), ignored);
  CORDON_TRY_VOID(write_config());
  m_pid = CORDON_TRY(spawn_child(binary_path("cordon-agentd"), {"--config", config_path()}, log_path().string()));
  return await_child_ready(
      m_pid, "agentd",
      [this] {
        ipc::UnixClient client(socket_path(), ipc::ClientOptions{.timeout = std::chrono::milliseconds(500)});
        auto answer = client.get("/v1/status");
        return answer && answer->status == 200;
      },
      [this] { return log_tail(); });
}

int AgentdProcess::stop(int signal) {
  if (m_pid <= 0) return -1;
  const int status = stop_child(m_pid, signal);
  m_pid = -1;
  return status;
}

} // namespace cordon::testing

#include "tests/support/approvald_process.h"

#include <sstream>

#include <unistd.h>

#include "common/files.h"
#include "common/ipc/unix_client.h"
#include "tests/support/auditd_process.h"
#include "tests/support/child_process.h"

namespace cordon::testing {

ApprovaldProcess::ApprovaldProcess(ApprovaldProcessOptions options) : m_options(std::move(options)) {
  if (m_options.constitution_dir.empty()) m_options.constitution_dir = std::filesystem::path(CORDON_SOURCE_DIR) / "services/constitution.d";
}

ApprovaldProcess::~ApprovaldProcess() {
  if (m_pid > 0) stop(SIGTERM);
}

std::string ApprovaldProcess::socket_path() const { return (m_options.directory / "approvald.sock").string(); }
std::filesystem::path ApprovaldProcess::log_path() const { return m_options.directory / "approvald.log"; }
std::string ApprovaldProcess::config_path() const { return (m_options.directory / "approvald.toml").string(); }

std::string ApprovaldProcess::log_tail() const {
  auto text = read_file(log_path());
  if (!text) return "(no log)";
  return text->size() > 4000 ? text->substr(text->size() - 4000) : *text;
}

Result<void> ApprovaldProcess::write_config() const {
  std::ostringstream toml;
  toml << "tenant = \"" << m_options.tenant << "\"\n\n"
       << "[[peers]]\nuid = " << ::getuid() << "\nprincipal = \"tester\"\nroles = [\"admin\", \"agentd\", \"approvald\", \"auditd\"]\n\n"
       << "[[peers]]\nuid = 65534\nprincipal = \"stranger\"\nroles = [\"none\"]\n\n"
       << "[approvald]\nsocket = \"" << socket_path() << "\"\nsocket_mode = \"0666\"\nstate_dir = \""
       << (m_options.state_dir.empty() ? m_options.directory / "approvald-state" : m_options.state_dir).string() << "\"\naudit_socket = \"" << m_options.audit_socket
       << "\"\nsecretsd_socket = \"" << m_options.secretsd_socket << "\"\nconstitution_dir = \""
       << m_options.constitution_dir.string() << "\"\ndry_run_days = " << m_options.dry_run_days
       << "\ndecision_ttl_s = " << m_options.decision_ttl_s << "\n";
  if (m_options.web) {
    toml << "\n[approvald.web]\nlisten = \"127.0.0.1:0\"\naddress_file = \"" << (m_options.directory / "approvald-web.addr").string()
         << "\"\ncert = \"" << (m_options.tls_dir / "server.crt").string() << "\"\nkey = \""
         << (m_options.tls_dir / "server.key").string() << "\"\n";
  }
  if (!m_options.sla_toml.empty()) toml << "\n[approvald.sla]\n" << m_options.sla_toml << "\n";
  toml << "\n" << m_options.approvers_toml << "\n" << m_options.webhooks_toml << "\n";
  return write_file_atomically(config_path(), toml.str());
}

Result<void> ApprovaldProcess::start() {
  if (m_pid > 0) return fail(Errc::conflict, "approvald already running");
  CORDON_TRY_VOID(write_config());
  std::error_code ignored;
  std::filesystem::remove(m_options.directory / "approvald-web.addr", ignored);
  m_pid = CORDON_TRY(spawn_child(binary_path("cordon-approvald"), {"--config", config_path()}, log_path().string()));
  return await_child_ready(
      m_pid, "approvald",
      [this] {
        ipc::UnixClient client(socket_path(), ipc::ClientOptions{.timeout = std::chrono::milliseconds(500)});
        auto answer = client.get("/v1/status");
        if (!answer || answer->status != 200) return false;
        return !m_options.web || !web_address().empty();
      },
      [this] { return log_tail(); });
}

std::string ApprovaldProcess::web_address() const {
  auto text = read_file(m_options.directory / "approvald-web.addr");
  if (!text) return {};
  while (!text->empty() && text->back() == '\n') text->pop_back();
  return *text;
}

int ApprovaldProcess::stop(int signal) {
  if (m_pid <= 0) return -1;
  const int status = stop_child(m_pid, signal);
  m_pid = -1;
  return status;
}

void ApprovaldProcess::signal(int signal) const {
  if (m_pid > 0) ::kill(m_pid, signal);
}

} // namespace cordon::testing

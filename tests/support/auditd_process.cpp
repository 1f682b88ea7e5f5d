#include "tests/support/auditd_process.h"

#include <array>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/crypto.h"
#include "common/encoding.h"
#include "common/files.h"
#include "common/ipc/unix_client.h"
#include "tests/support/child_process.h"

#ifndef CORDON_BINARY_DIR
#error "tests need CORDON_BINARY_DIR"
#endif
#ifndef CORDON_SOURCE_DIR
#error "tests need CORDON_SOURCE_DIR"
#endif

namespace cordon::testing {

std::string binary_path(const std::string& name) { return std::string(CORDON_BINARY_DIR) + "/bin/" + name; }
std::string source_path(const std::string& relative) { return std::string(CORDON_SOURCE_DIR) + "/" + relative; }

CommandResult run_command(const std::string& command_line) {
  CommandResult result;
  FILE* pipe = ::popen((command_line + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> buffer{};
  while (std::size_t got = std::fread(buffer.data(), 1, buffer.size(), pipe)) result.output.append(buffer.data(), got);
  const int status = ::pclose(pipe);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

AuditdProcess::AuditdProcess(AuditdProcessOptions options) : m_options(std::move(options)) {
  if (m_options.state_dir.empty()) m_options.state_dir = m_options.directory / "state";
}

AuditdProcess::~AuditdProcess() {
  if (m_pid > 0) stop(SIGTERM);
}

std::string AuditdProcess::socket_path() const { return (m_options.directory / "auditd.sock").string(); }
std::filesystem::path AuditdProcess::state_dir() const { return m_options.state_dir; }
std::filesystem::path AuditdProcess::tls_dir() const { return m_options.directory / "tls"; }
std::filesystem::path AuditdProcess::log_path() const { return m_options.directory / "auditd.log"; }
std::string AuditdProcess::config_path() const { return (m_options.directory / "cordon.toml").string(); }

std::string AuditdProcess::https_address() const {
  auto text = read_file(m_options.directory / "https.addr");
  if (!text) return {};
  auto address = *text;
  while (!address.empty() && (address.back() == '\n' || address.back() == ' ')) address.pop_back();
  return address;
}

std::string AuditdProcess::log_tail() const {
  auto text = read_file(log_path());
  if (!text) return "(no log)";
  return text->size() > 4000 ? text->substr(text->size() - 4000) : *text;
}

Result<void> AuditdProcess::write_config() const {
  std::ostringstream toml;
  toml << "tenant = \"" << m_options.tenant << "\"\n\n"
       << "[[peers]]\nuid = " << ::getuid()
       << "\nprincipal = \"tester\"\nroles = [\"admin\", \"agentd\", \"approvald\", \"secretsd\", \"auditor\"]\n\n"
       << "[[peers]]\nuid = 65534\nprincipal = \"stranger\"\nroles = [\"none\"]\n\n"
       << "[auditd]\nsocket = \"" << socket_path() << "\"\nsocket_mode = \"0666\"\nstate_dir = \""
       << state_dir().string() << "\"\ncheckpoint_interval_ms = " << m_options.checkpoint_interval_ms
       << "\nsegment_bytes = " << m_options.segment_bytes << "\ncheckpoint_key = \"" << m_options.checkpoint_key
       << "\"\n";
  if (!m_options.secretsd_socket.empty()) toml << "secretsd_socket = \"" << m_options.secretsd_socket << "\"\n";
  if (m_options.auditor_https) {
    auto token = read_file(tls_dir() / "auditor.token");
    if (!token) return tl::unexpected<Error>(token.error());
    toml << "\n[auditd.auditor]\nlisten = \"127.0.0.1:0\"\naddress_file = \""
         << (m_options.directory / "https.addr").string() << "\"\ncert = \"" << (tls_dir() / "server.crt").string()
         << "\"\nkey = \"" << (tls_dir() / "server.key").string() << "\"\nclient_ca = \""
         << (tls_dir() / "ca.crt").string() << "\"\nbearer_token_sha256 = [\""
         << to_hex(crypto::sha256(*token)) << "\"]\n";
  }
  for (const auto& dsn : m_options.postgres_sinks)
    toml << "\n[[auditd.sinks]]\ntype = \"postgres\"\ndsn = \"" << dsn << "\"\n";
  for (const auto& path : m_options.jsonl_sinks)
    toml << "\n[[auditd.sinks]]\ntype = \"jsonl\"\npath = \"" << path.string() << "\"\n";
  return write_file_atomically(config_path(), toml.str());
}

Result<void> AuditdProcess::start() {
  if (m_pid > 0) return fail(Errc::conflict, "auditd already running");
  if (m_options.auditor_https) {
    auto made = run_command(source_path("tools/devstack-tls") + " " + tls_dir().string());
    if (made.status != 0) return fail(Errc::io_error, "devstack-tls failed: " + made.output);
  }
  CORDON_TRY_VOID(write_config());
  std::filesystem::remove(m_options.directory / "https.addr");
  m_pid = CORDON_TRY(spawn_child(binary_path("cordon-auditd"), {"--config", config_path()}, log_path().string()));
  return await_child_ready(
      m_pid, "auditd",
      [this] {
        ipc::UnixClient client(socket_path(), ipc::ClientOptions{.timeout = std::chrono::milliseconds(500)});
        // /v1/status, not /v1/checkpoint: with secretsd's key, checkpoints wait for secretsd.
        auto answer = client.get("/v1/status");
        return answer && answer->status == 200 && (!m_options.auditor_https || !https_address().empty());
      },
      [this] { return log_tail(); });
}

int AuditdProcess::stop(int signal) {
  if (m_pid <= 0) return -1;
  const int status = stop_child(m_pid, signal);
  m_pid = -1;
  return status;
}

} // namespace cordon::testing

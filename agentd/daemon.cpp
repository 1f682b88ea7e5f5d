#include "agentd/daemon.h"

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>

#include "agentd/api.h"
#include "agentd/gate_client.h"
#include "agentd/gateway.h"
#include "agentd/mcp/mcp_server.h"
#include "agentd/packet_check.h"
#include "agentd/routes.h"
#include "agentd/run_store.h"
#include "agentd/tools/fs_tools.h"
#include "agentd/tools/two_phase.h"
#include "agentd/tools/http_request.h"
#include "agentd/tools/sql_query.h"
#include "agentd/tools/workspace.h"
#include "agentd/untrusted/injection_markers.h"
#include "common/audit/audit_client.h"
#include "common/files.h"
#include "common/ipc/asio.h"
#include "common/ipc/credential_listener.h"
#include "common/ipc/termination.h"
#include "common/ipc/unix_server.h"
#include "common/log.h"
#include "common/systemd.h"

namespace cordon::agentd {
namespace {
// Handlers call approvald, auditd and the tools synchronously, so several calls run at once.
constexpr unsigned io_threads = 8;
constexpr std::string_view version = "0.1.0";
} // namespace

// Destroyed in reverse order: the server before what its handlers use.
struct Daemon::Parts {
  asio::io_context io{static_cast<int>(io_threads)};
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  std::vector<std::thread> threads;
  AgentdConfig config;
  std::unique_ptr<AuditClient> audit;
  std::unique_ptr<RunStore> runs;
  std::unique_ptr<PacketCheck> packets;
  std::unique_ptr<GateClient> gate;
  std::unique_ptr<Workspace> workspace;
  std::unique_ptr<TwoPhaseDeletes> deletes;
  std::unique_ptr<untrusted::MarkerSet> markers;
  std::unique_ptr<Gateway> gateway;
  std::unique_ptr<mcp::McpServer> mcp;
  std::unique_ptr<ipc::UnixServer> server;
  std::unique_ptr<ipc::TlsServer> remote; // [agentd.remote]
  std::mutex timer_mutex;
  std::condition_variable timer_wake;
  bool stopping = false;
  std::thread hard_phases; // runs due hard phases of two-phase deletes

  ~Parts() {
    if (remote) remote->stop();
    if (server) server->stop();
    {
      std::lock_guard lock(timer_mutex);
      stopping = true;
    }
    timer_wake.notify_all();
    if (hard_phases.joinable()) hard_phases.join();
    work.reset();
    io.stop();
    for (auto& thread : threads) thread.join();
  }
};

Daemon::Daemon(std::unique_ptr<Parts> parts) : m_parts(std::move(parts)) {}
Daemon::~Daemon() = default;

Result<std::unique_ptr<Daemon>> Daemon::start(AgentdConfig config) {
  auto parts = std::make_unique<Parts>();
  auto& p = *parts;
  p.config = std::move(config);
  const std::filesystem::path state = p.config.state_dir;
  CORDON_TRY_VOID(make_private_directory(state));
  p.workspace = CORDON_TRY(Workspace::open(p.config.workspace));
  p.deletes = CORDON_TRY(TwoPhaseDeletes::open(state / "pending.db", *p.workspace, p.config.reinstate_window,
                                               SystemClock::instance()));
  auto markers = untrusted::load_markers(p.config.markers_file);
  if (!markers) return fail(markers.error().code, "the injection markers do not load: " + markers.error().message);
  p.markers = std::make_unique<untrusted::MarkerSet>(std::move(*markers));
  p.audit = std::make_unique<AuditClient>(p.config.audit_socket);
  p.runs = CORDON_TRY(RunStore::open(state / "runs.db"));
  p.packets = CORDON_TRY(PacketCheck::open(state, p.config.tenant, SystemClock::instance()));
  p.gate = std::make_unique<GateClient>(p.config.approvald_socket, p.config.secretsd_socket);

  std::vector<std::unique_ptr<Tool>> tools;
  tools.push_back(make_fs_read(*p.workspace));
  tools.push_back(make_fs_write(*p.workspace));
  tools.push_back(make_sql_query(p.config.databases));
  tools.push_back(make_fs_delete(*p.workspace, *p.deletes));
  tools.push_back(make_http_request(p.config.http_hosts, p.config.max_result_bytes * 4));
  Json tool_names = Json::array();
  for (const auto& tool : tools) tool_names.push_back(tool->spec().name);
  p.gateway = std::make_unique<Gateway>(Gateway::Parts{&p.config, p.runs.get(), p.gate.get(), p.packets.get(), p.audit.get(),
                                                       p.markers.get(), &SystemClock::instance(), std::move(tools)});
  p.mcp = std::make_unique<mcp::McpServer>(*p.gateway, mcp::ServerInfo{.version = std::string(version),
      .instructions = "Every call goes through Cordon's gate: it may be allowed, denied or held for a human. "
                      "Give _meta cordon/confidence (0..1) and cordon/rationale with each call."});

  AuditEvent started{"agentd.started", "system", "agentd", std::nullopt,
                     {{"tools", tool_names}, {"markers_version", p.markers->version()}, {"workspace", p.config.workspace}}, {}};
  if (auto recorded = p.audit->record(started); !recorded) {
    return fail(Errc::unavailable, "cannot record agentd.started, so agentd will not serve: " + recorded.error().message);
  }

  ipc::ServerLimits limits;
  limits.max_body_bytes = max_socket_body_bytes;
  auto router = make_router(*p.mcp, *p.runs, *p.deletes, *p.audit);
  auto fds = CORDON_TRY(systemd::listen_fds());
  if (auto fd = CORDON_TRY(systemd::find_listen_fd(fds, "agentd")))
    p.server = CORDON_TRY(ipc::UnixServer::adopt(p.io, *fd, router, p.config.peers, limits));
  else
    p.server = CORDON_TRY(ipc::UnixServer::bind(p.io, p.config.socket, p.config.socket_mode, router, p.config.peers, limits));
  // Remote agents reach the same routes with the role "agent": /mcp and /v1/status, never runs
  // or pending deletes.
  if (p.config.remote)
    p.remote = CORDON_TRY(ipc::start_credential_listener(p.io, *p.config.remote, fds, "agentd-remote", "agent", router, limits));
  for (unsigned i = 0; i < io_threads; ++i) p.threads.emplace_back([&io = p.io] { io.run(); });
  // Hard phases run only once their tool.hard_phase event is durable; one the ledger refuses
  // stays pending and is tried again.
  p.hard_phases = std::thread([&p] {
    std::unique_lock lock(p.timer_mutex);
    while (!p.timer_wake.wait_for(lock, std::chrono::milliseconds(500), [&p] { return p.stopping; })) {
      lock.unlock();
      auto completed = p.deletes->complete_due([&p](const PendingDelete& pending) -> Result<void> {
        AuditEvent event{"tool.hard_phase", "system", "agentd", pending.run_id,
                         {{"tool", "fs.delete"}, {"pending_id", pending.id}, {"path", pending.path}}, {}};
        return p.audit->record(event).map([](const AuditAck&) {});
      });
      if (!completed) log::warn("hard phases could not run", {{"error", completed.error().message}});
      lock.lock();
    }
  });

  log::info("serving", {{"socket", p.server->path()}, {"tools", tool_names.dump()}});
  systemd::notify_ready();
  systemd::notify_status("serving " + std::to_string(tool_names.size()) + " tools");
  return std::unique_ptr<Daemon>(new Daemon(std::move(parts)));
}

void Daemon::run_until_signal(const sigset_t& signals) {
  ipc::wait_for_termination(signals, m_parts->io, {}, {});
  log::info("stopping");
  systemd::notify_stopping();
  m_parts.reset();
}

} // namespace cordon::agentd

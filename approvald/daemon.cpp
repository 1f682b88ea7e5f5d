#include "approvald/daemon.h"

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>

#include "approvald/api.h"
#include "approvald/approval_desk.h"
#include "approvald/approval_store.h"
#include "approvald/notifier.h"
#include "approvald/web_routes.h"
#include "approvald/decision_signer.h"
#include "approvald/decision_store.h"
#include "approvald/gate.h"
#include "approvald/routes.h"
#include "common/audit/audit_client.h"
#include "common/files.h"
#include "common/ipc/asio.h"
#include "common/ipc/termination.h"
#include "common/ipc/tls_server.h"
#include "common/ipc/unix_server.h"
#include "common/log.h"
#include "common/systemd.h"

namespace cordon::approvald {

namespace {
constexpr unsigned io_threads = 4;
} // namespace

// Destroyed in reverse order: the servers and the timer before the gate and desk they call.
struct Daemon::Parts {
  asio::io_context io{static_cast<int>(io_threads)};
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  std::vector<std::thread> threads;
  std::unique_ptr<AuditClient> audit;
  std::unique_ptr<DecisionSigner> signer;
  std::unique_ptr<DecisionStore> store;
  std::unique_ptr<ApprovalStore> approvals;
  std::unique_ptr<Notifier> notifier;
  std::unique_ptr<ApprovalDesk> desk;
  std::unique_ptr<Gate> gate;
  std::unique_ptr<ipc::UnixServer> server;
  std::unique_ptr<ipc::TlsServer> web;
  std::mutex timer_mutex;
  std::condition_variable timer_wake;
  bool stopping = false;
  std::thread timer;

  ~Parts() {
    if (server) server->stop();
    if (web) web->stop();
    {
      std::lock_guard lock(timer_mutex);
      stopping = true;
    }
    timer_wake.notify_all();
    if (timer.joinable()) timer.join();
    work.reset();
    io.stop();
    for (auto& thread : threads) thread.join();
  }
};

Daemon::Daemon(std::unique_ptr<Parts> parts) : m_parts(std::move(parts)) {}
Daemon::~Daemon() = default;

Result<std::unique_ptr<Daemon>> Daemon::start(ApprovaldConfig config) {
  auto parts = std::make_unique<Parts>();
  auto& p = *parts;
  const std::filesystem::path state = config.state_dir;
  CORDON_TRY_VOID(make_private_directory(state));
  auto constitution = load_constitution(config.constitution_dir);
  if (!constitution) return fail(constitution.error().code, "the constitution does not load: " + constitution.error().message);
  p.audit = std::make_unique<AuditClient>(config.audit_socket);
  p.signer = std::make_unique<DecisionSigner>(config.secretsd_socket);
  p.store = CORDON_TRY(DecisionStore::open(state / "approvald.db", SystemClock::instance().now()));
  p.approvals = CORDON_TRY(ApprovalStore::open(state / "approvals.db"));
  p.notifier = CORDON_TRY(Notifier::create(config.webhooks, *p.audit));
  DecisionStore* decisions = p.store.get();
  auto switch_mode = [decisions](const std::string& mode) -> Result<void> {
    if (mode != "live") return fail(Errc::invalid_argument, "the mode can only be switched to live");
    return decisions->switch_live(SystemClock::instance().now());
  };
  // "Approve and amend": the rule goes into 90-amendments.toml of the constitution directory and
  // takes effect through the same reload as any edit; if the reload refuses, the file is put back.
  auto amend = [&p, directory = std::filesystem::path(config.constitution_dir)](const std::string& rule,
                                                                                const std::string& requested_by) -> Result<std::string> {
    const auto file = directory / "90-amendments.toml";
    std::error_code error;
    const bool existed = std::filesystem::exists(file, error);
    const std::string before = existed ? CORDON_TRY(read_file(file)) : std::string();
    const std::string header = "# Rules added by approvers with \"approve and amend\" (docs/approvals.md).\n";
    CORDON_TRY_VOID(write_file_atomically(file, (existed ? before : header) + "\n" + rule));
    auto reloaded = p.gate->reload(requested_by);
    if (!reloaded) {
      if (existed) (void)write_file_atomically(file, before);
      else std::filesystem::remove(file, error);
      return tl::unexpected(reloaded.error());
    }
    return (*reloaded)["policy_version"].get<std::string>();
  };
  p.desk = std::make_unique<ApprovalDesk>(ApprovalDesk::Parts{config, p.approvals.get(), p.audit.get(), p.notifier.get(),
                                                              &SystemClock::instance(), switch_mode, amend});
  const std::string version = constitution->version;
  p.gate = std::make_unique<Gate>(Gate::Parts{config, std::move(*constitution), p.signer.get(), p.audit.get(), p.store.get(),
                                              p.desk.get(), &SystemClock::instance()});
  const Json status = p.gate->status();
  AuditEvent started{"approvald.started", "system", "approvald", std::nullopt,
                     {{"policy_version", version}, {"mode", status["mode"]}, {"constitution", p.gate->constitution()->canonical}}, {}};
  if (auto recorded = p.audit->record(started); !recorded)
    return fail(Errc::unavailable, "cannot record approvald.started, so approvald will not serve: " + recorded.error().message);

  ipc::ServerLimits limits;
  limits.max_body_bytes = max_request_body_bytes;
  auto router = make_router(*p.gate, *p.audit);
  auto fds = CORDON_TRY(systemd::listen_fds());
  if (auto fd = CORDON_TRY(systemd::find_listen_fd(fds, "approvald")))
    p.server = CORDON_TRY(ipc::UnixServer::adopt(p.io, *fd, router, config.peers, limits));
  else
    p.server = CORDON_TRY(ipc::UnixServer::bind(p.io, config.socket, config.socket_mode, router, config.peers, limits));
  if (config.web) {
    ipc::TlsServerOptions web;
    web.authentication = ipc::TlsAuthentication::by_route;
    web.cert_file = config.web->cert;
    web.key_file = config.web->key;
    web.role = "approver-web";
    web.limits.max_body_bytes = 4096;
    auto web_router = make_web_router(*p.desk);
    if (auto https_fd = CORDON_TRY(systemd::find_listen_fd(fds, "approvald-https"))) {
      p.web = CORDON_TRY(ipc::TlsServer::adopt(p.io, *https_fd, web, web_router));
    } else {
      auto [host, port] = CORDON_TRY(ipc::parse_host_port(config.web->listen));
      p.web = CORDON_TRY(ipc::TlsServer::bind(p.io, host, port, web, web_router));
    }
    p.desk->set_public_url(config.web->public_url.empty() ? "https://" + p.web->local_address() : config.web->public_url);
    if (!config.web->address_file.empty())
      CORDON_TRY_VOID(write_file_atomically(config.web->address_file, p.web->local_address() + "\n"));
    log::info("approver web listener", {{"address", p.web->local_address()}});
  }
  for (unsigned i = 0; i < io_threads; ++i) p.threads.emplace_back([&io = p.io] { io.run(); });
  p.timer = std::thread([&p] {
    std::unique_lock lock(p.timer_mutex);
    while (!p.timer_wake.wait_for(lock, std::chrono::milliseconds(250), [&p] { return p.stopping; })) {
      lock.unlock();
      p.desk->tick();
      lock.lock();
    }
  });

  log::info("serving", {{"socket", p.server->path()}, {"policy_version", version}, {"mode", status["mode"].get<std::string>()}});
  systemd::notify_ready();
  systemd::notify_status("serving; policy " + version + "; mode " + status["mode"].get<std::string>());
  return std::unique_ptr<Daemon>(new Daemon(std::move(parts)));
}

void Daemon::run_until_signal(const sigset_t& signals) {
  Gate& gate = *m_parts->gate;
  ipc::wait_for_termination(signals, m_parts->io, {}, [&gate] {
    auto reloaded = gate.reload("signal:SIGHUP");
    if (!reloaded) log::error("SIGHUP: the constitution was not reloaded", {{"error", reloaded.error().message}});
  });
  log::info("stopping");
  systemd::notify_stopping();
  m_parts.reset();
}

} // namespace cordon::approvald

#include "auditd/daemon.h"

#include <atomic>
#include <thread>

#include <sys/stat.h>

#include "auditd/checkpointer.h"
#include "auditd/ledger/checkpoint_signer.h"
#include "auditd/ledger/ledger.h"
#include "auditd/routes.h"
#include "auditd/secretsd_checkpoint_signer.h"
#include "auditd/sink_set.h"
#include "common/crypto.h"
#include "common/ipc/asio.h"
#include "common/ipc/termination.h"
#include "common/ipc/unix_server.h"
#include "common/files.h"
#include "common/log.h"
#include "common/secret_file.h"
#include "auditd/api.h"
#include "common/systemd.h"

namespace cordon::auditd {

namespace {
constexpr std::size_t salt_bytes = 32;
constexpr unsigned io_threads = 2;
} // namespace

// Members are destroyed in reverse order: listeners, then the ledger's users, then the ledger,
// and the io_context last, so no responder outlives the loop it posts to.
struct Daemon::Parts {
  AuditdConfig config;
  asio::io_context io{static_cast<int>(io_threads)};
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  std::vector<std::thread> threads;
  Bytes salt;
  SinkSet sinks;
  std::unique_ptr<ledger::CheckpointSigner> signer;
  std::unique_ptr<ledger::Ledger> ledger;
  std::unique_ptr<Checkpointer> checkpoints;
  std::unique_ptr<AuditServices> services;
  std::unique_ptr<ipc::UnixServer> unix_server;
  std::unique_ptr<ipc::TlsServer> auditor;

  ~Parts() {
    if (unix_server) unix_server->stop();
    if (auditor) auditor->stop();
    sinks.stop();
    if (checkpoints) checkpoints->stop();
    ledger.reset(); // commits whatever is queued, answering its requests
    work.reset();
    io.stop();
    for (auto& thread : threads) thread.join();
    crypto::wipe(salt);
  }
};

namespace {


// Records an event of auditd's own (start, recovery) and waits until it is durable.
void record_own_event(ledger::Ledger& ledger, std::string kind, Json data) {
  Json event = {{"kind", std::move(kind)}, {"actor", {{"type", "system"}, {"id", "auditd"}}}, {"data", std::move(data)}};
  auto prepared = ledger::prepare_events(event, ledger.context("auditd"));
  auto acks = prepared ? ledger.append_and_wait(std::move(*prepared))
                       : Result<std::vector<ledger::Ack>>(tl::unexpected<Error>(prepared.error()));
  if (!acks) log::error("cannot record an event of auditd's own", {{"error", acks.error().message}});
}

// The socket systemd passed as "auditd", or the configured path bound here.
Result<std::unique_ptr<ipc::UnixServer>> open_unix_server(asio::io_context& io, const AuditdConfig& config,
                                                          const std::vector<systemd::ListenFd>& fds,
                                                          std::shared_ptr<const ipc::Router> router) {
  ipc::ServerLimits limits;
  limits.max_body_bytes = max_request_body_bytes;
  auto fd = CORDON_TRY(systemd::find_listen_fd(fds, "auditd"));
  if (fd) return ipc::UnixServer::adopt(io, *fd, std::move(router), config.peers, limits);
  return ipc::UnixServer::bind(io, config.socket, config.socket_mode, std::move(router), config.peers, limits);
}

} // namespace

Daemon::Daemon(std::unique_ptr<Parts> parts) : m_parts(std::move(parts)) {}
Daemon::~Daemon() = default;

Result<std::unique_ptr<Daemon>> Daemon::start(AuditdConfig config) {
  auto parts = std::make_unique<Parts>();
  parts->config = std::move(config);
  auto& p = *parts;
  const std::filesystem::path state = p.config.state_dir;
  CORDON_TRY_VOID(make_private_directory(state));

  p.salt = CORDON_TRY(load_or_create_secret_file(state / "audit-salt", salt_bytes));
  if (p.config.checkpoint_key == AuditdConfig::CheckpointKey::secretsd)
    p.signer = std::make_unique<SecretsdCheckpointSigner>(p.config.secretsd_socket, p.config.origin, state / "checkpoint.key");
  else
    p.signer = CORDON_TRY(ledger::FileCheckpointSigner::open(state / "checkpoint.key", p.config.origin));

  ledger::LedgerOptions options;
  options.tenant = p.config.tenant;
  options.salt = p.salt;
  options.segment_bytes = p.config.segment_bytes;
  SinkSet* sinks = &p.sinks;
  options.on_commit = [sinks](std::uint64_t size) { sinks->notify(size); };
  p.ledger = CORDON_TRY(ledger::Ledger::open(state / "ledger", std::move(options)));
  if (p.ledger->recovered_bytes() > 0) {
    log::warn("cut a torn tail from the ledger", {{"bytes", std::to_string(p.ledger->recovered_bytes())}});
    record_own_event(*p.ledger, "ledger.recovered", {{"truncated_bytes", p.ledger->recovered_bytes()}});
  }

  p.checkpoints = std::make_unique<Checkpointer>(*p.ledger, *p.signer, p.config.origin,
                                                 p.config.checkpoint_interval, state);
  p.sinks.start(p.config.sinks, p.config.tenant, *p.ledger);
  p.services = std::unique_ptr<AuditServices>(new AuditServices{*p.ledger, *p.checkpoints, *p.signer, p.config.tenant});
  p.services->sink_status = [sinks] { return sinks->status(); };

  auto fds = CORDON_TRY(systemd::listen_fds());
  p.unix_server = CORDON_TRY(open_unix_server(p.io, p.config, fds, make_local_router(*p.services)));
  if (p.config.auditor)
    p.auditor = CORDON_TRY(ipc::start_credential_listener(p.io, *p.config.auditor, fds, "auditor", "auditor",
                                                          make_auditor_router(*p.services)));

  const bool key_ready = p.signer->ready();
  const Json verifier = key_ready ? Json(p.signer->verifier_key().to_string()) : Json();
  const char* holder = p.config.checkpoint_key == AuditdConfig::CheckpointKey::secretsd ? "secretsd" : "file";
  record_own_event(*p.ledger, "auditd.started", {{"size", p.ledger->size()}, {"verifier_key", verifier}, {"checkpoint_key", holder}});
  if (!key_ready) {
    // Recorded once the key is known, so the ledger itself says which key signs its checkpoints.
    ledger::Ledger* ledger = p.ledger.get();
    ledger::CheckpointSigner* signer = p.signer.get();
    p.checkpoints->on_signer_ready([ledger, signer, holder] {
      record_own_event(*ledger, "checkpoint.key_ready", {{"verifier_key", signer->verifier_key().to_string()}, {"checkpoint_key", holder}});
    });
  }
  p.checkpoints->start();
  for (unsigned i = 0; i < io_threads; ++i) p.threads.emplace_back([&io = p.io] { io.run(); });

  log::info("serving", {{"socket", p.unix_server->path()},
                        {"entries", std::to_string(p.ledger->size())},
                        {"verifier_key", key_ready ? p.signer->verifier_key().to_string() : "(waiting for secretsd)"}});
  systemd::notify_ready();
  systemd::notify_status("serving " + std::to_string(p.ledger->size()) + " entries");
  return std::unique_ptr<Daemon>(new Daemon(std::move(parts)));
}

void Daemon::run_until_signal(const sigset_t& signals) {
  auto& p = *m_parts;
  ipc::wait_for_termination(signals, p.io, [&p] {
    systemd::notify_status("serving " + std::to_string(p.ledger->size()) + " entries");
  });
  log::info("stopping");
  systemd::notify_stopping();
  m_parts.reset();
}

} // namespace cordon::auditd

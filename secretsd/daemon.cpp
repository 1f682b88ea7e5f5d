#include "secretsd/daemon.h"

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <thread>

#include <sys/stat.h>

#include "common/audit/audit_client.h"
#include "common/ipc/asio.h"
#include "common/ipc/termination.h"
#include "common/ipc/unix_server.h"
#include "common/files.h"
#include "common/log.h"
#include "common/systemd.h"
#include "secretsd/api.h"
#include "secretsd/custodian.h"
#include "secretsd/kek/credential_kek.h"
#include "secretsd/kek/key_file_kek.h"
#include "secretsd/kek/tpm_kek.h"
#include "secretsd/routes.h"

namespace cordon::secretsd {

namespace {
constexpr unsigned io_threads = 4;

Result<std::unique_ptr<KekCustody>> make_custody(const SecretsdConfig& config) {
  switch (config.kek.custody) {
  case KekCustodyKind::tpm: {
    TpmKekOptions options;
    options.tcti = config.kek.tcti;
    options.directory = config.state_dir;
    options.parent_handle = config.kek.parent_handle;
    options.pcrs = config.kek.pcrs;
    auto tpm = CORDON_TRY(TpmKek::open(std::move(options)));
    return std::unique_ptr<KekCustody>(std::move(tpm));
  }
  case KekCustodyKind::credential: {
    const char* directory = std::getenv("CREDENTIALS_DIRECTORY");
    std::optional<std::filesystem::path> source;
    if (!config.kek.credential_source.empty()) source = config.kek.credential_source;
    return std::unique_ptr<KekCustody>(
        std::make_unique<CredentialKek>(directory ? directory : "", config.kek.credential, std::move(source)));
  }
  case KekCustodyKind::key_file:
    return std::unique_ptr<KekCustody>(std::make_unique<KeyFileKek>(config.kek.key_file));
  }
  return fail(Errc::internal, "unknown KEK custody");
}

} // namespace

// Destroyed in reverse order: the server and the timer before the custodian they call.
struct Daemon::Parts {
  SecretsdConfig config;
  asio::io_context io{static_cast<int>(io_threads)};
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  std::vector<std::thread> threads;
  std::unique_ptr<AuditClient> audit;
  std::unique_ptr<Custodian> custodian;
  std::unique_ptr<ipc::UnixServer> server;
  std::mutex timer_mutex;
  std::condition_variable timer_wake;
  bool stopping = false;
  std::thread lease_timer;

  ~Parts() {
    if (server) server->stop();
    {
      std::lock_guard lock(timer_mutex);
      stopping = true;
    }
    timer_wake.notify_all();
    if (lease_timer.joinable()) lease_timer.join();
    work.reset();
    io.stop();
    for (auto& thread : threads) thread.join();
  }
};

// The spent nonces and open leases, with those of a vault that still kept them in its tables taken
// over first (durably, then the tables dropped: a crash between the two imports them again,
// which skips what is there).
Result<std::unique_ptr<LeaseBook>> open_lease_book(const std::filesystem::path& path, Vault& vault) {
  auto book = CORDON_TRY(LeaseBook::open(path, SystemClock::instance()));
  const auto legacy = CORDON_TRY(vault.legacy_lease_state());
  if (legacy.present) {
    CORDON_TRY_VOID(book->import(legacy.nonces, legacy.leases));
    CORDON_TRY_VOID(vault.drop_legacy_lease_state());
    log::info("moved spent nonces and open leases out of the vault",
              {{"nonces", std::to_string(legacy.nonces.size())}, {"leases", std::to_string(legacy.leases.size())}});
  }
  return book;
}

Daemon::Daemon(std::unique_ptr<Parts> parts) : m_parts(std::move(parts)) {}
Daemon::~Daemon() = default;

Result<std::unique_ptr<Daemon>> Daemon::start(SecretsdConfig config) {
  auto parts = std::make_unique<Parts>();
  parts->config = std::move(config);
  auto& p = *parts;
  const std::filesystem::path state = p.config.state_dir;
  CORDON_TRY_VOID(make_private_directory(state));
  p.audit = std::make_unique<AuditClient>(p.config.audit_socket);

  auto custody = CORDON_TRY(make_custody(p.config));
  Custodian::Parts custodian{p.config, nullptr, nullptr, nullptr, nullptr, std::nullopt, *p.audit, SystemClock::instance()};
  const auto database = state / "vault.db";
  custodian.shredded_at = CORDON_TRY(Vault::shredded_at(database));
  if (!custodian.shredded_at) {
    auto kek = custody->load_or_create();
    if (!kek) return fail(kek.error().code, "cannot recover the KEK (" + custody->describe() + "): " + kek.error().message);
    custodian.vault = CORDON_TRY(Vault::open(database, p.config.tenant, std::move(*kek)));
    custodian.keys = CORDON_TRY(KeyRing::load(*custodian.vault));
    custodian.leases = CORDON_TRY(open_lease_book(state / "leases.log", *custodian.vault));
  }
  custodian.custody = std::move(custody);
  p.custodian = std::make_unique<Custodian>(std::move(custodian));
  CORDON_TRY_VOID(p.custodian->ensure_keys());

  const Json status = p.custodian->status();
  AuditEvent started{"secretsd.started", "system", "secretsd", std::nullopt,
                     {{"state", status["state"]}, {"kek_custody", status["kek_custody"]}, {"kek", status["kek"]}}, {}};
  if (auto recorded = p.audit->record(started); !recorded)
    return fail(Errc::unavailable, "cannot record secretsd.started, so secretsd will not serve: " + recorded.error().message);

  ipc::ServerLimits limits;
  limits.max_body_bytes = max_request_body_bytes;
  auto router = make_router(*p.custodian, *p.audit);
  auto fds = CORDON_TRY(systemd::listen_fds());
  if (auto fd = CORDON_TRY(systemd::find_listen_fd(fds, "secretsd")))
    p.server = CORDON_TRY(ipc::UnixServer::adopt(p.io, *fd, router, p.config.peers, limits));
  else
    p.server = CORDON_TRY(ipc::UnixServer::bind(p.io, p.config.socket, p.config.socket_mode, router, p.config.peers, limits));
  for (unsigned i = 0; i < io_threads; ++i) p.threads.emplace_back([&io = p.io] { io.run(); });

  p.lease_timer = std::thread([&p] {
    std::unique_lock lock(p.timer_mutex);
    while (!p.timer_wake.wait_for(lock, std::chrono::seconds(1), [&p] { return p.stopping; })) {
      lock.unlock();
      p.custodian->expire_leases();
      lock.lock();
    }
  });

  log::info("serving", {{"socket", p.server->path()}, {"kek", status["kek"].get<std::string>()},
                        {"state", status["state"].get<std::string>()}});
  if (!status["memory_locked"].get<bool>()) log::warn("key material is not locked in memory (RLIMIT_MEMLOCK)");
  systemd::notify_ready();
  systemd::notify_status("serving; KEK " + status["kek_custody"].get<std::string>() + "; " + status["state"].get<std::string>());
  return std::unique_ptr<Daemon>(new Daemon(std::move(parts)));
}

void Daemon::run_until_signal(const sigset_t& signals) {
  ipc::wait_for_termination(signals, m_parts->io);
  log::info("stopping");
  systemd::notify_stopping();
  m_parts.reset();
}

} // namespace cordon::secretsd

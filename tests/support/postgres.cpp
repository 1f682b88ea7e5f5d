#include "tests/support/postgres.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <system_error>
#include <thread>

#include <fmt/format.h>
#include <pqxx/pqxx>

namespace cordon::testing {
namespace {

using namespace std::chrono_literals;

std::string errno_text(int error) { return std::system_category().message(error); }

Result<std::filesystem::path> find_bin_directory(const TempPostgresOptions& options) {
  if (!options.bin_directory.empty()) return options.bin_directory;
  if (const char* configured = std::getenv("CORDON_PG_BINDIR"); configured && *configured) {
    return std::filesystem::path(configured);
  }
  std::filesystem::path best;
  int best_version = -1;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/usr/lib/postgresql", error)) {
    const auto name = entry.path().filename().string();
    char* end = nullptr;
    const long version = std::strtol(name.c_str(), &end, 10);
    if (end == name.c_str() || *end != '\0') continue;
    if (!std::filesystem::exists(entry.path() / "bin" / "postgres")) continue;
    if (version > best_version) {
      best_version = static_cast<int>(version);
      best = entry.path() / "bin";
    }
  }
  if (best.empty()) {
    return fail(Errc::unavailable, "no PostgreSQL server under /usr/lib/postgresql/*/bin; install "
                                   "postgresql or set CORDON_PG_BINDIR");
  }
  return best;
}

struct ChildSpec {
  std::filesystem::path program;
  std::vector<std::string> arguments; // without argv[0]
  std::filesystem::path log;
  std::filesystem::path working_directory;
  uid_t uid;
  gid_t gid;
  bool tie_to_thread;
};

// Starts a child process with stdout and stderr appended to spec.log, as spec.uid when that is
// set. Everything the child needs is prepared before fork(): only async-signal-safe calls follow.
Result<pid_t> spawn(const ChildSpec& spec) {
  std::vector<std::string> argument_storage{spec.program.string()};
  argument_storage.insert(argument_storage.end(), spec.arguments.begin(), spec.arguments.end());
  std::vector<char*> argv;
  for (auto& argument : argument_storage) argv.push_back(argument.data());
  argv.push_back(nullptr);
  std::vector<std::string> environment_storage{
      "PATH=" + spec.program.parent_path().string() + ":/usr/bin:/bin", "LC_ALL=C", "TZ=UTC",
      "HOME=" + spec.working_directory.string()};
  std::vector<char*> envp;
  for (auto& variable : environment_storage) envp.push_back(variable.data());
  envp.push_back(nullptr);

  const int log_fd = ::open(spec.log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    return fail(Errc::io_error, fmt::format("cannot open {}: {}", spec.log.string(), errno_text(errno)));
  }
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd < 0) {
    const int error = errno;
    ::close(log_fd);
    return fail(Errc::io_error, fmt::format("cannot open /dev/null: {}", errno_text(error)));
  }
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (::dup2(null_fd, 0) < 0 || ::dup2(log_fd, 1) < 0 || ::dup2(log_fd, 2) < 0) ::_exit(126);
    if (spec.uid != static_cast<uid_t>(-1)) {
      if (::setgroups(0, nullptr) != 0 || ::setgid(spec.gid) != 0 || ::setuid(spec.uid) != 0) {
        ::_exit(126);
      }
    }
    // Set after setuid(), which clears it; checked against a parent that already died.
    if (spec.tie_to_thread && (::prctl(PR_SET_PDEATHSIG, SIGQUIT) != 0 || ::getppid() != parent)) {
      ::_exit(126);
    }
    if (::chdir(spec.working_directory.c_str()) != 0) ::_exit(126);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  const int fork_error = errno;
  ::close(log_fd);
  ::close(null_fd);
  if (pid < 0) return fail(Errc::io_error, fmt::format("fork failed: {}", errno_text(fork_error)));
  return pid;
}

// Waits for `pid` to exit; returns its exit status (128 + signal if killed).
Result<int> wait_exit(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return fail(Errc::io_error, fmt::format("waitpid: {}", errno_text(errno)));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

} // namespace

Result<std::unique_ptr<TempPostgres>> TempPostgres::create(TempPostgresOptions options) {
  std::unique_ptr<TempPostgres> server(new TempPostgres());
  server->m_options = std::move(options);
  server->m_bin_directory = CORDON_TRY(find_bin_directory(server->m_options));
  CORDON_TRY_VOID(server->initialise());
  CORDON_TRY_VOID(server->start());
  CORDON_TRY_VOID(server->create_role_and_database());
  return server;
}

TempPostgres::~TempPostgres() {
  if (running()) (void)stop(StopMode::fast);
  if (!m_directory.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(m_directory, ignored);
  }
}

Result<void> TempPostgres::initialise() {
  if (::geteuid() == 0) {
    // PostgreSQL refuses to run as root; the postgresql package created this user.
    const passwd* user = ::getpwnam("postgres");
    if (user == nullptr) {
      return fail(Errc::unavailable, "running as root and there is no 'postgres' user to run "
                                     "PostgreSQL as (install postgresql)");
    }
    m_uid = user->pw_uid;
    m_gid = user->pw_gid;
  }
  // /tmp, not $TMPDIR: the socket path must stay under 108 bytes.
  std::string pattern = "/tmp/cordon-pg-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    return fail(Errc::io_error, fmt::format("mkdtemp: {}", errno_text(errno)));
  }
  m_directory = pattern;
  if (m_uid != static_cast<uid_t>(-1) && ::chown(m_directory.c_str(), m_uid, m_gid) != 0) {
    return fail(Errc::io_error, fmt::format("chown {}: {}", m_directory.string(), errno_text(errno)));
  }
  // With the socket in a private directory the port only names the socket file; a random one
  // keeps DSNs of concurrent servers apart in logs.
  std::random_device random;
  m_port = 20000 + static_cast<int>(random() % 40000);

  const ChildSpec initdb{m_bin_directory / "initdb",
                         {"-D", (m_directory / "data").string(), "-U", "postgres", "-A", "trust",
                          "-E", "UTF8", "--locale=C", "--no-sync"},
                         m_directory / "initdb.log",
                         m_directory,
                         m_uid,
                         m_gid,
                         false};
  const pid_t pid = CORDON_TRY(spawn(initdb));
  const int status = CORDON_TRY(wait_exit(pid));
  if (status != 0) {
    std::ifstream log(m_directory / "initdb.log");
    std::stringstream text;
    text << log.rdbuf();
    return fail(Errc::unavailable, fmt::format("initdb exited with {}: {}", status, text.str()));
  }
  return ok();
}

Result<void> TempPostgres::start() {
  if (running()) return ok();
  ChildSpec server{m_bin_directory / "postgres",
                   {"-D", (m_directory / "data").string(), "-k", m_directory.string(), "-c",
                    "listen_addresses=", "-c", fmt::format("port={}", m_port),
                    "-c", "fsync=on", "-c", "synchronous_commit=on"},
                   m_directory / "postgres.log",
                   m_directory,
                   m_uid,
                   m_gid,
                   true};
  for (const auto& setting : m_options.settings) {
    server.arguments.push_back("-c");
    server.arguments.push_back(setting);
  }
  m_pid = CORDON_TRY(spawn(server));
  return wait_until_ready();
}

Result<void> TempPostgres::wait_until_ready() {
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  std::string last_error;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(m_pid, &status, WNOHANG) == m_pid) {
      m_pid = -1;
      return fail(Errc::unavailable, "postgres exited during startup: " + log_tail());
    }
    try {
      pqxx::connection probe(dsn_for("postgres", "postgres"));
      return ok();
    } catch (const std::exception& e) {
      last_error = e.what();
    }
    std::this_thread::sleep_for(20ms);
  }
  (void)stop(StopMode::immediate);
  return fail(Errc::unavailable,
              fmt::format("postgres did not accept connections within 60 s ({}): {}", last_error,
                          log_tail()));
}

Result<void> TempPostgres::create_role_and_database() {
  try {
    pqxx::connection session(dsn_for("postgres", "postgres"));
    pqxx::nontransaction statement(session);
    statement.exec("CREATE ROLE " + session.quote_name(m_options.role) +
                   " LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE");
    statement.exec("CREATE DATABASE " + session.quote_name(m_options.database) + " OWNER " +
                   session.quote_name(m_options.role));
  } catch (const std::exception& e) {
    return fail(Errc::unavailable, fmt::format("creating the test role and database: {}", e.what()));
  }
  return ok();
}

Result<void> TempPostgres::stop(StopMode mode) {
  if (!running()) return ok();
  ::kill(m_pid, mode == StopMode::fast ? SIGINT : SIGQUIT);
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  int status = 0;
  while (::waitpid(m_pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(m_pid, SIGKILL);
      (void)wait_exit(m_pid);
      m_pid = -1;
      return fail(Errc::unavailable, "postgres did not stop within 30 s; killed");
    }
    std::this_thread::sleep_for(5ms);
  }
  m_pid = -1;
  return ok();
}

std::string TempPostgres::dsn() const { return dsn_for(m_options.role, m_options.database); }

std::string TempPostgres::superuser_dsn() const { return dsn_for("postgres", m_options.database); }

std::string TempPostgres::dsn_for(std::string_view role, std::string_view database) const {
  return fmt::format("host={} port={} dbname={} user={}", m_directory.string(), m_port, database,
                     role);
}

std::string TempPostgres::log_tail(std::size_t max_bytes) const {
  std::ifstream log(m_directory / "postgres.log", std::ios::binary);
  std::stringstream text;
  text << log.rdbuf();
  auto all = text.str();
  return all.size() > max_bytes ? all.substr(all.size() - max_bytes) : all;
}

} // namespace cordon::testing

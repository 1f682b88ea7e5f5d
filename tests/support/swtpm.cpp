#include "tests/support/swtpm.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <system_error>
#include <thread>

#include <fmt/format.h>

#include "common/crypto.h"
#include "common/encoding.h"

namespace cordon::testing {
namespace {

using namespace std::chrono_literals;

std::string errno_text(int error) { return std::system_category().message(error); }

class Socket {
public:
  Socket() : m_fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {}
  ~Socket() {
    if (m_fd >= 0) ::close(m_fd);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  int get() const { return m_fd; }

private:
  int m_fd;
};

sockaddr_in loopback(int port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

bool bind_loopback(const Socket& socket, int port) {
  const sockaddr_in address = loopback(port);
  return ::bind(socket.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
}

// A port P such that P and P + 1 are free on 127.0.0.1 now (swtpm binds them a moment later; a
// race with another process is retried by create()).
Result<int> free_port_pair() {
  for (int attempt = 0; attempt < 100; ++attempt) {
    Socket first;
    if (first.get() < 0 || !bind_loopback(first, 0)) {
      return fail(Errc::io_error, "cannot bind a loopback socket: " + errno_text(errno));
    }
    sockaddr_in bound{};
    socklen_t length = sizeof bound;
    if (::getsockname(first.get(), reinterpret_cast<sockaddr*>(&bound), &length) != 0) {
      return fail(Errc::io_error, "getsockname: " + errno_text(errno));
    }
    const int port = ntohs(bound.sin_port);
    if (port >= 65535) continue;
    Socket second;
    if (second.get() >= 0 && bind_loopback(second, port + 1)) return port;
  }
  return fail(Errc::unavailable, "no two consecutive free loopback ports");
}

// Whether a TPM answers TPM2_GetRandom(8) with success on the port.
bool tpm_answers(int port) {
  Socket socket;
  const sockaddr_in address = loopback(port);
  if (::connect(socket.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    return false;
  }
  const timeval timeout{2, 0};
  ::setsockopt(socket.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  // tag TPM2_ST_NO_SESSIONS, size 12, TPM2_CC_GetRandom, bytesRequested 8
  constexpr std::array<std::uint8_t, 12> get_random{0x80, 0x01, 0,    0,    0, 12,
                                                    0,    0,    0x01, 0x7B, 0, 8};
  if (::send(socket.get(), get_random.data(), get_random.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(get_random.size())) {
    return false;
  }
  std::array<std::uint8_t, 10> header{};
  std::size_t got = 0;
  while (got < header.size()) {
    const ssize_t n = ::recv(socket.get(), header.data() + got, header.size() - got, 0);
    if (n <= 0) return false;
    got += static_cast<std::size_t>(n);
  }
  const bool tag_ok = header[0] == 0x80 && header[1] == 0x01;
  const bool success = header[6] == 0 && header[7] == 0 && header[8] == 0 && header[9] == 0;
  return tag_ok && success;
}

struct ChildSpec {
  std::filesystem::path program;
  std::vector<std::string> arguments; // without argv[0]
  std::vector<std::string> environment;
  std::filesystem::path output; // stdout and stderr; truncated unless `append`
  bool append;
  std::filesystem::path working_directory;
  bool tie_to_thread;
};

// Starts a child with stdout and stderr to spec.output. Everything it needs is prepared before
// fork(): only async-signal-safe calls follow.
Result<pid_t> spawn(const ChildSpec& spec) {
  std::vector<std::string> argument_storage{spec.program.string()};
  argument_storage.insert(argument_storage.end(), spec.arguments.begin(), spec.arguments.end());
  std::vector<char*> argv;
  for (auto& argument : argument_storage) argv.push_back(argument.data());
  argv.push_back(nullptr);
  std::vector<std::string> environment_storage = spec.environment;
  std::vector<char*> envp;
  for (auto& variable : environment_storage) envp.push_back(variable.data());
  envp.push_back(nullptr);

  const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (spec.append ? O_APPEND : O_TRUNC);
  const int output_fd = ::open(spec.output.c_str(), flags, 0644);
  if (output_fd < 0) {
    return fail(Errc::io_error,
                fmt::format("cannot open {}: {}", spec.output.string(), errno_text(errno)));
  }
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd < 0) {
    const int error = errno;
    ::close(output_fd);
    return fail(Errc::io_error, fmt::format("cannot open /dev/null: {}", errno_text(error)));
  }
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (::dup2(null_fd, 0) < 0 || ::dup2(output_fd, 1) < 0 || ::dup2(output_fd, 2) < 0) {
      ::_exit(126);
    }
    // Checked against a parent that died before the flag was set.
    if (spec.tie_to_thread && (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != parent)) {
      ::_exit(126);
    }
    if (::chdir(spec.working_directory.c_str()) != 0) ::_exit(126);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  const int fork_error = errno;
  ::close(output_fd);
  ::close(null_fd);
  if (pid < 0) return fail(Errc::io_error, fmt::format("fork failed: {}", errno_text(fork_error)));
  return pid;
}

// Waits up to `limit` for `pid` to exit, then kills it. Returns its exit status (128 + signal
// if killed).
int wait_exit(pid_t pid, std::chrono::steady_clock::duration limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  int status = 0;
  for (;;) {
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) return 128 + SIGKILL;
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      break;
    }
    std::this_thread::sleep_for(5ms);
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

Result<std::filesystem::path> find_program(std::string_view name) {
  for (const char* directory : {"/usr/bin", "/usr/local/bin", "/bin"}) {
    const auto candidate = std::filesystem::path(directory) / name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return fail(Errc::unavailable,
              fmt::format("{} is not installed (apt-get install swtpm tpm2-tools)", name));
}

} // namespace

Result<std::unique_ptr<TempSwtpm>> TempSwtpm::create() {
  std::unique_ptr<TempSwtpm> tpm(new TempSwtpm());
  std::error_code error;
  if (!std::filesystem::create_directory(tpm->directory() / "state", error)) {
    return fail(Errc::io_error, "cannot create the swtpm state directory: " + error.message());
  }
  // Another process may take a port between free_port_pair() and swtpm's bind: try new ones.
  Error last{Errc::unavailable, "swtpm did not start"};
  for (int attempt = 0; attempt < 5; ++attempt) {
    tpm->m_port = CORDON_TRY(free_port_pair());
    auto started = tpm->start();
    if (started) return tpm;
    last = started.error();
  }
  return tl::unexpected(last);
}

TempSwtpm::~TempSwtpm() { (void)stop(); }

std::string TempSwtpm::tcti() const { return fmt::format("swtpm:host=127.0.0.1,port={}", m_port); }

Result<void> TempSwtpm::start() {
  if (running()) return ok();
  const auto program = CORDON_TRY(find_program("swtpm"));
  const ChildSpec swtpm{program,
                        {"socket", "--tpm2", "--server",
                         fmt::format("type=tcp,port={},bindaddr=127.0.0.1", m_port), "--ctrl",
                         fmt::format("type=tcp,port={},bindaddr=127.0.0.1", m_port + 1),
                         "--tpmstate", fmt::format("dir={}", (directory() / "state").string()),
                         "--flags", "not-need-init,startup-clear"},
                        {"PATH=/usr/bin:/bin", "LC_ALL=C", "HOME=" + directory().string()},
                        directory() / "swtpm.log",
                        true,
                        directory(),
                        true};
  m_pid = CORDON_TRY(spawn(swtpm));
  return wait_until_ready();
}

Result<void> TempSwtpm::wait_until_ready() {
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(m_pid, &status, WNOHANG) == m_pid) {
      m_pid = -1;
      return fail(Errc::unavailable, "swtpm exited during startup: " + log_tail());
    }
    if (tpm_answers(m_port)) return ok();
    std::this_thread::sleep_for(10ms);
  }
  (void)stop();
  return fail(Errc::unavailable, "swtpm did not answer within 30 s: " + log_tail());
}

Result<void> TempSwtpm::stop() {
  if (!running()) return ok();
  ::kill(m_pid, SIGTERM);
  const int status = wait_exit(m_pid, 10s);
  m_pid = -1;
  if (status == 128 + SIGKILL) {
    return fail(Errc::unavailable, "swtpm did not stop within 10 s; killed");
  }
  return ok();
}

Result<std::string> TempSwtpm::run_tool(std::string_view program,
                                        const std::vector<std::string>& arguments) {
  const auto path = CORDON_TRY(find_program(program));
  const ChildSpec tool{path,
                       arguments,
                       {"PATH=/usr/bin:/bin", "LC_ALL=C", "HOME=" + directory().string(),
                        "TPM2TOOLS_TCTI=" + tcti()},
                       directory() / "tool.out",
                       false,
                       directory(),
                       true};
  const pid_t pid = CORDON_TRY(spawn(tool));
  const int status = wait_exit(pid, 60s);
  const std::string output = read_text(directory() / "tool.out");
  if (status != 0) {
    return fail(Errc::unavailable, fmt::format("{} exited with {}: {}", program, status, output));
  }
  return output;
}

Result<void> TempSwtpm::extend_pcr(unsigned index, std::string_view data) {
  const auto digest = crypto::sha256(data);
  CORDON_TRY_VOID(run_tool("tpm2_pcrextend", {fmt::format("{}:sha256={}", index, to_hex(digest))}));
  return ok();
}

Result<void> TempSwtpm::clear() {
  CORDON_TRY_VOID(run_tool("tpm2_clear", {}));
  return ok();
}

Result<std::vector<std::uint32_t>> TempSwtpm::handles(TpmHandleKind kind) {
  const char* capability = kind == TpmHandleKind::persistent  ? "handles-persistent"
                           : kind == TpmHandleKind::transient ? "handles-transient"
                                                              : "handles-loaded-session";
  const auto output = CORDON_TRY(run_tool("tpm2_getcap", {capability}));
  // One "- 0x81000C0D" line per handle.
  std::vector<std::uint32_t> handles;
  std::istringstream lines(output);
  std::string line;
  while (std::getline(lines, line)) {
    const auto start = line.find("0x");
    if (start == std::string::npos) continue;
    handles.push_back(static_cast<std::uint32_t>(std::strtoul(line.c_str() + start, nullptr, 16)));
  }
  return handles;
}

std::string TempSwtpm::log_tail(std::size_t max_bytes) const {
  const auto all = read_text(directory() / "swtpm.log");
  return all.size() > max_bytes ? all.substr(all.size() - max_bytes) : all;
}

} // namespace cordon::testing

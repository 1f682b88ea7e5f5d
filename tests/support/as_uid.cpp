#include "tests/support/as_uid.h"

#include <sys/wait.h>
#include <unistd.h>

#include "common/ipc/unix_client.h"

namespace cordon::testing {

int status_as_uid(const std::string& socket, uid_t uid, ipc::Method method, const std::string& target,
                  const std::string& body) {
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) return -3;
  const pid_t pid = ::fork();
  if (pid < 0) return -3;
  if (pid == 0) {
    ::close(pipe_fds[0]);
    int status = -1;
    if (::setresgid(uid, uid, uid) == 0 && ::setresuid(uid, uid, uid) == 0) {
      ipc::UnixClient client(socket);
      auto response = client.request(method, target, body, body.empty() ? "" : "application/json");
      status = response ? response->status : -2;
    }
    (void)!::write(pipe_fds[1], &status, sizeof status);
    ::_exit(0);
  }
  ::close(pipe_fds[1]);
  int status = -3;
  if (::read(pipe_fds[0], &status, sizeof status) != sizeof status) status = -3;
  ::close(pipe_fds[0]);
  ::waitpid(pid, nullptr, 0);
  return status;
}

} // namespace cordon::testing

#pragma once

#include <string>

#include <sys/types.h>

#include "common/ipc/http.h"

namespace cordon::testing {

// Sends one request over a Unix socket from a child process running as `uid` (and gid `uid`),
// so the server's SO_PEERCRED sees that uid. Returns the HTTP status; -1 if the child could not
// change its ids, -2 if the request failed, -3 if the child could not be run.
int status_as_uid(const std::string& socket, uid_t uid, ipc::Method method, const std::string& target,
                  const std::string& body);

} // namespace cordon::testing

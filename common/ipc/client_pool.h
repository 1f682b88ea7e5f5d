#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "common/ipc/client_request.h"
#include "common/ipc/http.h"

namespace cordon::ipc {

class UnixClient;

// Kept-alive connections to one daemon's socket, shared by many threads: each request borrows
// an idle connection (or opens one) and gives it back only if the exchange completed, so a
// broken connection is never reused. Results are UnixClient::request's.
class ClientPool {
public:
  ClientPool(std::string socket_path, ClientOptions options, std::size_t max_idle = 16);
  ~ClientPool();
  ClientPool(const ClientPool&) = delete;
  ClientPool& operator=(const ClientPool&) = delete;

  Result<Response> request(Method method, std::string_view target, std::string_view body = {},
                           std::string_view content_type = {});

  const std::string& socket_path() const { return m_socket_path; }

private:
  std::string m_socket_path;
  ClientOptions m_options;
  std::size_t m_max_idle;
  std::mutex m_mutex;
  std::vector<std::unique_ptr<UnixClient>> m_idle;
};

} // namespace cordon::ipc

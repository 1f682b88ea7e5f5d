#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/error.h"
#include "common/ipc/client_request.h"
#include "common/ipc/http.h"

namespace cordon::ipc {

// A small synchronous HTTP/1.1 client over a Unix stream socket, keeping its connection alive
// between requests. For tests, CLIs, benchmarks and daemons calling each other. Not thread-safe:
// one client per thread.
//
// Any HTTP status is a successful result; inspect Response::status (error_from_response turns a
// problem into an Error). Failures: Errc::unavailable when the socket cannot be reached or the
// timeout passes, Errc::too_large for a response over the limit, Errc::io_error when the
// connection breaks mid-exchange, Errc::invalid_argument for a request that cannot be sent.
//
// A kept-alive connection the server has since closed is noticed before sending and replaced.
// If a reused connection still fails before any byte of the response arrives, the request is
// sent once more on a new connection: the server answers every request it reads, so an answer
// that never started means the request was not read.
class UnixClient {
public:
  explicit UnixClient(std::string socket_path, ClientOptions options = {});
  ~UnixClient();
  UnixClient(UnixClient&&) noexcept;
  UnixClient& operator=(UnixClient&&) noexcept;

  // `content_type` is sent when non-empty; with a body and no content type, application/json.
  Result<Response> request(Method method, std::string_view target, std::string_view body = {},
                           std::string_view content_type = {});
  Result<Response> request(const ClientRequest& request);

  Result<Response> get(std::string_view target) { return request(Method::get, target); }
  Result<Response> post(std::string_view target, std::string_view body,
                        std::string_view content_type = "application/json") {
    return request(Method::post, target, body, content_type);
  }

  // Closes the connection; the next request opens a new one.
  void close();
  bool connected() const;

private:
  struct State;
  std::unique_ptr<State> m_state;
};

} // namespace cordon::ipc

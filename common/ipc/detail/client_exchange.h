#pragma once

// Internal to cordon_ipc: the request/response exchange shared by UnixClient and HttpsClient.

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.h"
#include "common/ipc/asio.h"
#include "common/ipc/client_request.h"
#include "common/ipc/http.h"

namespace cordon::ipc::detail {

using Deadline = std::chrono::steady_clock::time_point;

// A connected byte stream with deadlines (a plain socket or TLS over one).
class ClientConnection {
public:
  virtual ~ClientConnection() = default;
  // Reads up to `size` bytes. End of stream is error asio::error::eof; a passed deadline is
  // asio::error::timed_out.
  virtual std::size_t read_some(void* data, std::size_t size, Deadline deadline,
                                beast::error_code& error) = 0;
  virtual std::size_t write_some(const void* data, std::size_t size, Deadline deadline,
                                 beast::error_code& error) = 0;
  // True if an idle keep-alive connection was closed by the server (or holds bytes nobody asked
  // for); such a connection must not carry another request.
  virtual bool stale() = 0;
};

// Waits until `fd` is ready for `events` (POLLIN/POLLOUT) or the deadline passes.
bool wait_fd(int fd, short events, Deadline deadline, beast::error_code& error);

// A plain socket in non-blocking mode. Owns the fd.
class FdConnection final : public ClientConnection {
public:
  explicit FdConnection(int fd) : m_fd(fd) {}
  ~FdConnection() override;
  FdConnection(const FdConnection&) = delete;
  FdConnection& operator=(const FdConnection&) = delete;
  std::size_t read_some(void* data, std::size_t size, Deadline deadline,
                        beast::error_code& error) override;
  std::size_t write_some(const void* data, std::size_t size, Deadline deadline,
                         beast::error_code& error) override;
  bool stale() override;
  int fd() const { return m_fd; }

private:
  int m_fd;
  // Set by a write: the reply cannot be there yet, so the next read waits before recv() instead
  // of spending a syscall on EAGAIN.
  bool m_reply_pending = false;
};

// Serialises `request` with Host `host` (and Authorization when non-empty) into `wire`. Fails
// with Errc::invalid_argument for a target or header that would corrupt the message.
Result<void> serialize_request(const ClientRequest& request, std::string_view host,
                               std::string_view authorization, std::string& wire);

struct ExchangeResult {
  Result<Response> response = fail(Errc::internal, "no exchange");
  bool received_any = false; // a byte of the response arrived (so a retry could duplicate)
  bool keep_alive = false;   // the connection may carry another request
  bool timed_out = false;    // the deadline passed (retrying would exceed it)
};

// Sends `wire` and reads one response. `buffer` carries bytes between exchanges on one
// connection.
ExchangeResult exchange(ClientConnection& connection, beast::flat_buffer& buffer,
                        std::string_view wire, Method method, const ClientOptions& options,
                        Deadline deadline);

using Connector = std::function<Result<std::unique_ptr<ClientConnection>>(Deadline deadline)>;

// One request on a keep-alive connection: replaces `connection` when absent or stale (checked
// only if unused for a few milliseconds; `last_used` tracks that), and sends once more on a fresh
// connection if a reused one failed before any response byte arrived. Leaves `connection` empty
// when the server will not keep it open.
Result<Response> send_request(std::unique_ptr<ClientConnection>& connection,
                              beast::flat_buffer& buffer, std::string_view wire, Method method,
                              const ClientOptions& options, Deadline deadline,
                              const Connector& connect,
                              std::optional<std::chrono::steady_clock::time_point>& last_used);

} // namespace cordon::ipc::detail

#pragma once

// Internal to cordon_ipc: one HTTP/1.1 connection, shared by the Unix and TLS servers.
//
// Everything a session does runs on the strand its socket was created with. Requests are served
// one at a time: the next one is read only after the response to the previous one is written, so
// pipelined requests are answered in order and the Request handed to a handler stays untouched
// until it answers.

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "common/ipc/asio.h"
#include "common/ipc/detail/listener.h"
#include "common/ipc/http.h"
#include "common/ipc/router.h"
#include "common/ipc/server_limits.h"
#include "common/log.h"

namespace cordon::ipc::detail {

// What every session of one server shares.
struct ServerContext {
  std::shared_ptr<const Router> router;
  ServerLimits limits;
};

inline Method method_from_verb(beast::http::verb value) {
  using beast::http::verb;
  switch (value) {
  case verb::get: return Method::get;
  case verb::head: return Method::head;
  case verb::post: return Method::post;
  case verb::put: return Method::put;
  case verb::patch: return Method::patch;
  case verb::delete_: return Method::delete_;
  case verb::options: return Method::options;
  default: return Method::other;
  }
}

// Header fields the server writes itself; a handler may not set them.
inline bool is_reserved_header(std::string_view name) {
  return equals_ignore_case(name, "content-length") || equals_ignore_case(name, "content-type") ||
         equals_ignore_case(name, "connection") || equals_ignore_case(name, "transfer-encoding");
}

// True for statuses whose responses have no body and no Content-Length (RFC 9110 §8.6, §6.4.1).
inline bool status_forbids_body(int status) { return status == 204 || status == 304; }

// Writes the status line and header fields of `response` into `head` (reusing its storage).
// Returns false for a response that would corrupt the message: an interim or unknown status, a
// body on 204/304, a header field with CR/LF/NUL or one the server writes itself.
inline bool serialize_head(const Response& response, bool keep_alive, bool http10,
                           std::string& head) {
  if (response.status < 200 || response.status > 599) return false;
  if (status_forbids_body(response.status) && !response.body.empty()) return false;
  if (!is_valid_header_value(response.content_type)) return false;
  for (const Header& field : response.headers) {
    if (!is_valid_header_name(field.name) || !is_valid_header_value(field.value) ||
        is_reserved_header(field.name)) {
      return false;
    }
  }
  char number[24];
  head.clear();
  head += "HTTP/1.1 ";
  auto status_end = std::to_chars(number, number + sizeof number, response.status).ptr;
  head.append(number, status_end);
  head += ' ';
  head += reason_phrase(response.status);
  head += "\r\n";
  if (!response.content_type.empty()) {
    head += "Content-Type: ";
    head += response.content_type;
    head += "\r\n";
  }
  if (!status_forbids_body(response.status)) {
    head += "Content-Length: ";
    auto length_end = std::to_chars(number, number + sizeof number, response.body.size()).ptr;
    head.append(number, length_end);
    head += "\r\n";
  }
  if (!keep_alive) {
    head += "Connection: close\r\n";
  } else if (http10) {
    head += "Connection: keep-alive\r\n";
  }
  for (const Header& field : response.headers) {
    head += field.name;
    head += ": ";
    head += field.value;
    head += "\r\n";
  }
  head += "\r\n";
  return true;
}

template <class Stream>
class HttpSession : public SessionBase,
                    public ResponseSink,
                    public std::enable_shared_from_this<HttpSession<Stream>> {
public:
  HttpSession(Stream stream, std::shared_ptr<const ServerContext> context,
              std::shared_ptr<SessionRegistry> registry)
      : m_stream(std::move(stream)), m_context(std::move(context)),
        m_registry(std::move(registry)), m_timer(m_stream.get_executor()) {}

  ~HttpSession() override { m_registry->remove(this); }

  HttpSession(const HttpSession&) = delete;
  HttpSession& operator=(const HttpSession&) = delete;

  void start() override {
    asio::dispatch(m_stream.get_executor(), [self = this->shared_from_this()] {
      self->m_last_activity = std::chrono::steady_clock::now();
      self->arm_timer(self->m_context->limits.idle_timeout);
      self->begin();
    });
  }

  void shutdown() override {
    asio::dispatch(m_stream.get_executor(), [self = this->shared_from_this()] {
      self->m_shutting_down = true;
      if (self->m_phase == Phase::starting || self->m_phase == Phase::reading) self->close();
    });
  }

  void deliver(Response&& response) noexcept override {
    try {
      asio::dispatch(m_stream.get_executor(),
                     [self = this->shared_from_this(), response = std::move(response)]() mutable {
                       self->write_response(std::move(response));
                     });
    } catch (const std::exception& error) {
      log::error("response dropped", {{"error", error.what()}});
    }
  }

protected:
  enum class Phase { starting, reading, handling, writing, closing, closed };

  // Runs first on the strand. The default starts reading; TLS handshakes first.
  virtual void begin() { read_request(); }

  // The identity for this request, or nullptr after filling `refusal` (TLS: 401).
  virtual const Peer* authenticate(const Request& request, Response& refusal) = 0;

  // The peer known without a request (Unix sockets: SO_PEERCRED at accept), or nullptr. A
  // request refused before it could be read whole is reported for this peer.
  virtual const Peer* connection_peer() const { return nullptr; }

  // Closes the transport. Must end in finish_close(); may do so later (a TLS close_notify),
  // bounded by the timer armed by close().
  virtual void close_transport() {
    beast::error_code ignored;
    auto& socket = beast::get_lowest_layer(m_stream);
    socket.shutdown(asio::socket_base::shutdown_both, ignored);
    socket.close(ignored);
    finish_close();
  }

  void finish_close() {
    beast::error_code ignored;
    beast::get_lowest_layer(m_stream).close(ignored);
    m_phase = Phase::closed;
    m_timer.cancel();
  }

  void read_request() {
    if (m_shutting_down) {
      close();
      return;
    }
    m_phase = Phase::reading;
    m_last_activity = std::chrono::steady_clock::now();
    const ServerLimits& limits = m_context->limits;
    m_parser.emplace();
    m_parser->header_limit(static_cast<std::uint32_t>(
        std::min<std::size_t>(limits.max_header_bytes, UINT32_MAX)));
    m_parser->body_limit(static_cast<std::uint64_t>(limits.max_body_bytes));
    beast::http::async_read(
        m_stream, m_buffer, *m_parser,
        [self = this->shared_from_this()](beast::error_code error, std::size_t) {
          self->on_read(error);
        });
  }

  void close() {
    if (m_phase == Phase::closing || m_phase == Phase::closed) return;
    m_phase = Phase::closing;
    // Bounds a graceful close; on expiry the socket is closed hard.
    arm_timer(std::chrono::milliseconds(2000));
    close_transport();
  }

  Stream m_stream;
  std::shared_ptr<const ServerContext> m_context;
  Phase m_phase = Phase::starting;
  std::chrono::steady_clock::time_point m_last_activity{};

private:
  void arm_timer(std::chrono::steady_clock::duration after) {
    m_timer.expires_after(after);
    m_timer.async_wait([self = this->shared_from_this()](beast::error_code error) {
      if (error != asio::error::operation_aborted) self->on_timer();
    });
  }

  void on_timer() {
    auto idle_timeout = m_context->limits.idle_timeout;
    switch (m_phase) {
    case Phase::closed: return;
    case Phase::closing: finish_close(); return;
    case Phase::handling: arm_timer(idle_timeout); return;
    case Phase::starting:
    case Phase::reading:
    case Phase::writing: break;
    }
    auto idle_for = std::chrono::steady_clock::now() - m_last_activity;
    if (idle_for >= idle_timeout) {
      log::debug("connection idle; closing");
      close();
      return;
    }
    arm_timer(idle_timeout - idle_for);
  }

  void on_read(beast::error_code error) {
    namespace http = beast::http;
    if (m_phase != Phase::reading) return;
    if (error) {
      const ServerLimits& limits = m_context->limits;
      if (error == http::error::body_limit) {
        refuse(413, Errc::too_large,
               "request body exceeds " + std::to_string(limits.max_body_bytes) + " bytes");
      } else if (error == http::error::header_limit) {
        refuse(431, Errc::too_large,
               "request header exceeds " + std::to_string(limits.max_header_bytes) + " bytes");
      } else if (error == http::error::end_of_stream || error == http::error::partial_message ||
                 error.category() != http::make_error_code(http::error::bad_target).category()) {
        close(); // the peer left, the timer closed us, or the socket failed
      } else {
        refuse(400, Errc::invalid_argument, "malformed HTTP request: " + error.message());
      }
      return;
    }

    auto& message = m_parser->get();
    if (message.body().size() > m_context->limits.max_body_bytes) {
      // Beast enforces body_limit for requests; this keeps the bound if that ever regresses.
      refuse(413, Errc::too_large,
             "request body exceeds " + std::to_string(m_context->limits.max_body_bytes) + " bytes");
      return;
    }
    m_request.method = method_from_verb(message.method());
    m_request.method_text.assign(message.method_string());
    m_request.target.assign(message.target());
    m_request.headers.clear();
    for (const auto& field : message) m_request.headers.add(field.name_string(), field.value());
    m_request.body = std::move(message.body());
    m_keep_alive = m_parser->keep_alive();
    m_http10 = message.version() < 11;
    m_head_request = m_request.method == Method::head;
    m_phase = Phase::handling;

    auto target = parse_target(m_request.target, m_request.path, m_request.query);
    if (!target) {
      write_response(problem_response(target.error()));
      return;
    }
    Response refusal;
    const Peer* peer = authenticate(m_request, refusal);
    if (peer == nullptr) {
      write_response(std::move(refusal));
      return;
    }
    m_context->router->dispatch(m_request, *peer, Responder(this->shared_from_this()));
  }

  // Answers a request that could not be read whole, then closes: the rest of the stream cannot
  // be trusted to start at a message boundary.
  void refuse(int status, Errc code, std::string detail) {
    if (const Peer* peer = connection_peer()) {
      Request partial;
      // The start line is kept once it was parsed, even when the header then failed (a declared
      // length over the limit fails at the end of the header).
      if (m_parser && !m_parser->get().target().empty()) {
        const auto& message = m_parser->get();
        partial.method = method_from_verb(message.method());
        partial.method_text.assign(message.method_string());
        partial.target.assign(message.target());
        (void)parse_target(partial.target, partial.path, partial.query);
      }
      m_context->router->report_refused(partial, *peer, status, detail);
    }
    m_keep_alive = false;
    m_head_request = false;
    m_phase = Phase::handling;
    write_response(problem_response(status, code, detail));
  }

  void write_response(Response&& response) {
    if (m_phase != Phase::handling) return; // closed while the handler worked
    m_phase = Phase::writing;
    m_last_activity = std::chrono::steady_clock::now();
    bool keep_alive = m_keep_alive && !m_shutting_down;
    m_response = std::move(response);
    if (!serialize_head(m_response, keep_alive, m_http10, m_head)) {
      log::error("handler produced an invalid response", {{"path", m_request.path}});
      m_response = problem_response(500, Errc::internal, "the handler produced an invalid response");
      serialize_head(m_response, keep_alive, m_http10, m_head);
    }
    // A HEAD response describes the body it does not send.
    std::size_t body_size = m_head_request ? 0 : m_response.body.size();
    // Not a std::array of two buffers: Asio 1.74 writes those with a special case that passes
    // the consumed head as an empty first buffer, and Beast's ssl_stream (a flat_stream) then
    // writes nothing and reports success, so over TLS a body above 16 KiB never left.
    asio::async_write(m_stream,
                      beast::buffers_cat(asio::buffer(m_head),
                                         asio::buffer(m_response.body.data(), body_size)),
                      [self = this->shared_from_this(), keep_alive](beast::error_code error,
                                                                   std::size_t) {
                        self->on_write(error, keep_alive);
                      });
  }

  void on_write(beast::error_code error, bool keep_alive) {
    if (m_phase != Phase::writing) return;
    // Keep the storage of ordinary responses for the next one, not that of a huge one.
    if (m_response.body.capacity() > (64u << 10)) {
      m_response = Response{};
    } else {
      m_response.body.clear();
      m_response.headers.clear();
    }
    if (error || !keep_alive) {
      close();
      return;
    }
    read_request();
  }

  std::shared_ptr<SessionRegistry> m_registry;
  asio::steady_timer m_timer;
  beast::flat_buffer m_buffer;
  std::optional<beast::http::request_parser<beast::http::string_body>> m_parser;
  Request m_request;
  Response m_response;
  std::string m_head;
  bool m_keep_alive = false;
  bool m_http10 = false;
  bool m_head_request = false;
  bool m_shutting_down = false;
};

} // namespace cordon::ipc::detail

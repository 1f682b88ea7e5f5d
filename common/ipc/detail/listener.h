#pragma once

// Internal to cordon_ipc: the accept loop shared by UnixServer and TlsServer.

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/ipc/asio.h"
#include "common/log.h"

namespace cordon::ipc::detail {

// A served connection, as its listener sees it.
class SessionBase {
public:
  virtual ~SessionBase() = default;
  // Begins serving; called once, right after accept.
  virtual void start() = 0;
  // Closes the connection now if it is waiting for a request, or after the response in flight.
  // Thread-safe.
  virtual void shutdown() = 0;
};

// What a session tells its listener. Sessions hold it by shared_ptr, so it outlives them.
class SessionRegistry {
public:
  virtual ~SessionRegistry() = default;
  // Called from the session's destructor, on any thread.
  virtual void remove(SessionBase* session) noexcept = 0;
};

// Accepts connections on a strand of the caller's io_context and hands each to a factory that
// builds its session. Pauses accepting at max_connections and resumes when one closes.
template <class Protocol>
class Listener final : public SessionRegistry,
                       public std::enable_shared_from_this<Listener<Protocol>> {
public:
  using Acceptor = typename Protocol::acceptor;
  using Socket = typename Protocol::socket;
  // Returns the session for an accepted socket, or nullptr to drop the connection. The session
  // must tell `registry` when it is destroyed.
  using Factory = std::function<std::shared_ptr<SessionBase>(
      Socket&& socket, std::shared_ptr<SessionRegistry> registry)>;

  Listener(asio::io_context& io, std::size_t max_connections, std::string label)
      : m_io(io), m_strand(asio::make_strand(io)), m_acceptor(m_strand), m_retry_timer(m_strand),
        m_max_connections(max_connections == 0 ? 1 : max_connections), m_label(std::move(label)) {}

  // Open, bind and listen (or assign) before start().
  Acceptor& acceptor() { return m_acceptor; }

  void start(Factory factory) {
    m_factory = std::move(factory);
    asio::dispatch(m_strand, [self = this->shared_from_this()] { self->accept_next(); });
  }

  // Stops accepting and shuts every session down. Thread-safe; idempotent.
  void stop() {
    if (m_stopped.exchange(true)) return;
    asio::dispatch(m_strand, [self = this->shared_from_this()] {
      beast::error_code ignored;
      self->m_acceptor.close(ignored);
      self->m_retry_timer.cancel();
    });
    std::vector<std::shared_ptr<SessionBase>> sessions;
    {
      std::lock_guard lock(m_mutex);
      sessions.reserve(m_sessions.size());
      for (auto& [pointer, weak] : m_sessions) {
        (void)pointer;
        if (auto session = weak.lock()) sessions.push_back(std::move(session));
      }
    }
    for (auto& session : sessions) session->shutdown();
  }

  std::size_t connection_count() const { return m_active.load(); }

  void remove(SessionBase* session) noexcept override {
    {
      std::lock_guard lock(m_mutex);
      m_sessions.erase(session);
    }
    m_active.fetch_sub(1);
    if (m_stopped.load()) return;
    asio::post(m_strand, [self = this->shared_from_this()] { self->resume_if_paused(); });
  }

private:
  void accept_next() {
    if (m_stopped.load()) return;
    if (m_active.load() >= m_max_connections) {
      if (!m_paused) log::warn("connection limit reached; accepting paused", {{"listener", m_label}});
      m_paused = true;
      return;
    }
    m_incoming.emplace(asio::make_strand(m_io));
    m_acceptor.async_accept(*m_incoming, [self = this->shared_from_this()](beast::error_code error) {
      self->on_accept(error);
    });
  }

  void on_accept(beast::error_code error) {
    if (m_stopped.load() || error == asio::error::operation_aborted) return;
    if (error) {
      // EMFILE and friends: back off briefly instead of spinning on a failing accept.
      log::warn("accept failed", {{"listener", m_label}, {"error", error.message()}});
      m_retry_timer.expires_after(std::chrono::milliseconds(100));
      m_retry_timer.async_wait([self = this->shared_from_this()](beast::error_code wait_error) {
        if (!wait_error) self->accept_next();
      });
      return;
    }
    std::shared_ptr<SessionBase> session = m_factory(std::move(*m_incoming), this->shared_from_this());
    m_incoming.reset();
    if (session) {
      {
        std::lock_guard lock(m_mutex);
        m_sessions.emplace(session.get(), session);
      }
      m_active.fetch_add(1);
      session->start();
    }
    accept_next();
  }

  void resume_if_paused() {
    if (!m_paused || m_stopped.load() || m_active.load() >= m_max_connections) return;
    m_paused = false;
    log::info("accepting resumed", {{"listener", m_label}});
    accept_next();
  }

  asio::io_context& m_io;
  asio::strand<asio::io_context::executor_type> m_strand;
  Acceptor m_acceptor;
  asio::steady_timer m_retry_timer;
  std::optional<Socket> m_incoming;
  Factory m_factory;
  const std::size_t m_max_connections;
  const std::string m_label;
  bool m_paused = false; // strand only
  std::atomic<bool> m_stopped{false};
  std::atomic<std::size_t> m_active{0};
  std::mutex m_mutex;
  std::unordered_map<SessionBase*, std::weak_ptr<SessionBase>> m_sessions;
};

} // namespace cordon::ipc::detail

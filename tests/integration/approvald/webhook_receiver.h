#pragma once

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/ipc/asio.h"
#include "common/ipc/tls_server.h"
#include "common/json.h"

namespace cordon::testing {

// A webhook receiver on 127.0.0.1 over HTTPS (devstack's server certificate), keeping every
// delivery it is sent.
class WebhookReceiver {
public:
  struct Delivery {
    std::string body;
    std::string signature; // X-Cordon-Signature-256
    std::string event;     // X-Cordon-Event
  };

  explicit WebhookReceiver(const std::filesystem::path& tls_dir) {
    ipc::TlsServerOptions options;
    options.authentication = ipc::TlsAuthentication::by_route;
    options.cert_file = (tls_dir / "server.crt").string();
    options.key_file = (tls_dir / "server.key").string();
    options.role = "webhook";
    auto router = std::make_shared<ipc::Router>();
    router->add_prefix(ipc::Method::post, "/", {"webhook"}, [this](const ipc::Request& request, const ipc::Peer&, ipc::Responder respond) {
      {
        std::lock_guard lock(m_mutex);
        m_deliveries.push_back({request.body, std::string(request.header("x-cordon-signature-256")),
                                std::string(request.header("x-cordon-event"))});
      }
      m_arrived.notify_all();
      respond(ipc::text_response(200, "ok"));
    });
    m_server = ipc::TlsServer::bind(m_io, "127.0.0.1", 0, options, router).value();
    m_thread = std::thread([this] { m_io.run(); });
  }
  ~WebhookReceiver() {
    m_server->stop();
    m_work.reset();
    m_io.stop();
    m_thread.join();
  }

  std::string url() const { return "https://" + m_server->local_address() + "/hooks/cordon"; }

  // Waits (up to 5 s) for a delivery whose body contains every one of `needles` and returns the
  // latest such.
  std::optional<Delivery> wait_for(const std::vector<std::string>& needles) {
    std::unique_lock lock(m_mutex);
    std::optional<Delivery> found;
    m_arrived.wait_for(lock, std::chrono::seconds(5), [&] {
      for (const auto& delivery : m_deliveries) {
        bool all = true;
        for (const auto& needle : needles) all = all && delivery.body.find(needle) != std::string::npos;
        if (all) found = delivery;
      }
      return found.has_value();
    });
    return found;
  }
  std::optional<Delivery> wait_for(const std::string& needle) { return wait_for(std::vector<std::string>{needle}); }
  std::size_t count() {
    std::lock_guard lock(m_mutex);
    return m_deliveries.size();
  }

private:
  asio::io_context m_io;
  asio::executor_work_guard<asio::io_context::executor_type> m_work{m_io.get_executor()};
  std::unique_ptr<ipc::TlsServer> m_server;
  std::thread m_thread;
  std::mutex m_mutex;
  std::condition_variable m_arrived;
  std::vector<Delivery> m_deliveries;
};

} // namespace cordon::testing

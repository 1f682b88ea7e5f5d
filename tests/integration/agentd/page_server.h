#pragma once

#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/ipc/asio.h"
#include "common/ipc/tls_server.h"

namespace cordon::testing {

// An outside web server on 127.0.0.1 over HTTPS (devstack's server certificate, valid for
// 127.0.0.1 and localhost): serves fixed pages (see "{{authorization}}") and remembers every request it was sent, so a
// test can tell whether a call reached it.
class PageServer {
public:
  struct Seen {
    std::string method;
    std::string target;
    std::string authorization;
    std::string body;
  };

  PageServer(const std::filesystem::path& tls_dir, std::map<std::string, std::string> pages) : m_pages(std::move(pages)) {
    ipc::TlsServerOptions options;
    options.authentication = ipc::TlsAuthentication::by_route;
    options.cert_file = (tls_dir / "server.crt").string();
    options.key_file = (tls_dir / "server.key").string();
    options.role = "web";
    auto router = std::make_shared<ipc::Router>();
    const auto serve = [this](const ipc::Request& request, const ipc::Peer&, ipc::Responder respond) {
      {
        std::lock_guard lock(m_mutex);
        m_seen.push_back({request.method_text, request.target, std::string(request.header("authorization")), request.body});
      }
      const auto page = m_pages.find(request.path);
      if (page == m_pages.end()) return respond(ipc::text_response(404, "not found"));
      // A page "{{authorization}}" echoes the request's Authorization header, as a careless
      // API that reflects credentials would.
      if (page->second == "{{authorization}}") {
        return respond(ipc::text_response(200, "you sent: " + std::string(request.header("authorization"))));
      }
      respond(ipc::text_response(200, page->second));
    };
    for (const auto method : {ipc::Method::get, ipc::Method::post}) router->add_prefix(method, "/", {"web"}, serve);
    m_server = ipc::TlsServer::bind(m_io, "127.0.0.1", 0, options, router).value();
    m_thread = std::thread([this] { m_io.run(); });
  }
  ~PageServer() {
    m_server->stop();
    m_work.reset();
    m_io.stop();
    m_thread.join();
  }

  std::uint16_t port() const {
    const std::string address = m_server->local_address();
    return static_cast<std::uint16_t>(std::stoi(address.substr(address.rfind(':') + 1)));
  }
  std::vector<Seen> seen() const {
    std::lock_guard lock(m_mutex);
    return m_seen;
  }

private:
  std::map<std::string, std::string> m_pages;
  asio::io_context m_io;
  asio::executor_work_guard<asio::io_context::executor_type> m_work{m_io.get_executor()};
  std::unique_ptr<ipc::TlsServer> m_server;
  std::thread m_thread;
  mutable std::mutex m_mutex;
  std::vector<Seen> m_seen;
};

} // namespace cordon::testing

#include "common/ipc/router.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>

#include "common/log.h"

namespace cordon::ipc {

namespace {

class FunctionSink final : public ResponseSink {
public:
  explicit FunctionSink(std::function<void(Response)> deliver) : m_deliver(std::move(deliver)) {}
  void deliver(Response&& response) noexcept override {
    try {
      m_deliver(std::move(response));
    } catch (const std::exception& error) {
      log::error("response delivery failed", {{"error", error.what()}});
    } catch (...) {
      log::error("response delivery failed", {{"error", "unknown exception"}});
    }
  }

private:
  std::function<void(Response)> m_deliver;
};

[[noreturn]] void invariant_failed(const std::string& what) {
  std::fprintf(stderr, "router: %s\n", what.c_str());
  std::abort();
}

Response internal_error() {
  return problem_response(500, Errc::internal, "internal error while handling the request");
}

} // namespace

struct Responder::State {
  explicit State(std::shared_ptr<ResponseSink> target) : sink(std::move(target)) {}
  State(const State&) = delete;
  State& operator=(const State&) = delete;
  ~State() {
    if (sent.load(std::memory_order_acquire)) return;
    log::error("a handler dropped its responder without answering");
    sink->deliver(problem_response(500, Errc::internal, "the request was dropped unanswered"));
  }

  std::atomic<bool> sent{false};
  std::shared_ptr<ResponseSink> sink;
};

Responder::Responder(std::shared_ptr<ResponseSink> sink)
    : m_state(std::make_shared<State>(std::move(sink))) {}

Responder::Responder(std::function<void(Response)> deliver)
    : Responder(std::make_shared<FunctionSink>(std::move(deliver))) {}

void Responder::operator()(Response response) const {
  if (m_state->sent.exchange(true, std::memory_order_acq_rel)) {
    log::debug("response ignored: the request was already answered");
    return;
  }
  m_state->sink->deliver(std::move(response));
}

bool Responder::responded() const { return m_state->sent.load(std::memory_order_acquire); }

void Router::add(Method method, std::string path, std::initializer_list<std::string_view> roles,
                 Handler handler) {
  add_route(method, std::move(path), false, roles, std::move(handler));
}

void Router::add_prefix(Method method, std::string prefix,
                        std::initializer_list<std::string_view> roles, Handler handler) {
  add_route(method, std::move(prefix), true, roles, std::move(handler));
}

void Router::add_route(Method method, std::string path, bool prefix,
                       std::initializer_list<std::string_view> roles, Handler handler) {
  std::string label = std::string(method_name(method)) + " " + path;
  if (roles.size() == 0) invariant_failed(label + " names no roles");
  if (!handler) invariant_failed(label + " has no handler");
  if (path.empty() || path.front() != '/') invariant_failed(label + " is not an absolute path");

  Resource* resource = nullptr;
  if (prefix) {
    auto found = std::find_if(m_prefixes.begin(), m_prefixes.end(),
                              [&](const Resource& entry) { return entry.path == path; });
    if (found == m_prefixes.end()) {
      m_prefixes.push_back(Resource{path, {}});
      std::stable_sort(m_prefixes.begin(), m_prefixes.end(),
                       [](const Resource& a, const Resource& b) { return a.path.size() > b.path.size(); });
      found = std::find_if(m_prefixes.begin(), m_prefixes.end(),
                           [&](const Resource& entry) { return entry.path == path; });
    }
    resource = &*found;
  } else {
    auto [position, inserted] = m_exact.try_emplace(path, Resource{path, {}});
    (void)inserted;
    resource = &position->second;
  }
  for (const Route& route : resource->routes) {
    if (route.method == method) invariant_failed(label + " is registered twice");
  }
  Route route{method, {}, std::move(handler)};
  for (std::string_view role : roles) route.roles.emplace_back(role);
  resource->routes.push_back(std::move(route));
}

void Router::set_denied_hook(DeniedHook hook) { m_denied_hook = std::move(hook); }

const Router::Resource* Router::find_resource(std::string_view path) const {
  if (auto found = m_exact.find(path); found != m_exact.end()) return &found->second;
  for (const Resource& resource : m_prefixes) {
    if (path.substr(0, resource.path.size()) == resource.path) return &resource;
  }
  return nullptr;
}

namespace {

// Runs a hook for a refusal: a hook that throws is logged, never allowed to unwind into the
// connection.
template <class Hook, class... Args>
void run_hook(const Hook& hook, std::string_view what, Args&&... args) {
  if (!hook) return;
  try {
    hook(std::forward<Args>(args)...);
  } catch (const std::exception& error) {
    log::error(std::string(what) + " hook failed", {{"error", error.what()}});
  } catch (...) {
    log::error(std::string(what) + " hook failed", {{"error", "unknown exception"}});
  }
}

} // namespace

void Router::report_denied(const Request& request, const Peer& peer,
                           std::string_view reason) const {
  run_hook(m_denied_hook, "denied", request, peer, reason);
}

void Router::set_refused_hook(RefusedHook hook) { m_refused_hook = std::move(hook); }

void Router::report_refused(const Request& request, const Peer& peer, int status,
                            std::string_view reason) const {
  run_hook(m_refused_hook, "refused", request, peer, status, reason);
}

void Router::dispatch(const Request& request, const Peer& peer, Responder respond) const {
  const Resource* resource = find_resource(request.path);
  if (resource == nullptr) {
    respond(problem_response(404, Errc::not_found, "no resource at " + request.path));
    return;
  }
  const Route* route = nullptr;
  for (const Route& candidate : resource->routes) {
    if (candidate.method == request.method) route = &candidate;
  }
  if (route == nullptr) {
    std::string allow;
    for (const Route& candidate : resource->routes) {
      if (!allow.empty()) allow += ", ";
      allow += method_name(candidate.method);
    }
    Response response = problem_response(
        405, Errc::method_not_allowed,
        request.method_text + " is not allowed on " + request.path + "; allowed: " + allow);
    response.headers.push_back(Header{"Allow", allow});
    respond(std::move(response));
    return;
  }
  bool allowed = std::any_of(route->roles.begin(), route->roles.end(),
                             [&](const std::string& role) { return peer.has_role(role); });
  if (!allowed) {
    std::string needed;
    for (const std::string& role : route->roles) {
      if (!needed.empty()) needed += ", ";
      needed += role;
    }
    std::string label = std::string(method_name(request.method)) + " " + resource->path;
    report_denied(request, peer, peer.principal + " lacks a role for " + label + " (needs " + needed + ")");
    respond(problem_response(403, Errc::permission_denied,
                             label + " needs one of the roles: " + needed));
    return;
  }
  try {
    route->handler(request, peer, respond);
  } catch (const std::exception& error) {
    log::error("handler threw", {{"path", request.path}, {"error", error.what()}});
    respond(internal_error());
  } catch (...) {
    log::error("handler threw", {{"path", request.path}, {"error", "unknown exception"}});
    respond(internal_error());
  }
}

} // namespace cordon::ipc

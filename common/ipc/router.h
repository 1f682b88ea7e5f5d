#pragma once

#include <atomic>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/ipc/http.h"
#include "common/ipc/peer.h"

namespace cordon::ipc {

// Where a Responder delivers a response: implemented by each server connection, which posts it
// to its own executor. deliver() is called at most once per Responder state, from any thread.
class ResponseSink {
public:
  virtual ~ResponseSink() = default;
  virtual void deliver(Response&& response) noexcept = 0;
};

// Sends the response to one request, exactly once. Copyable (copies share the state) and
// callable from any thread, so a handler may hand it to a worker, e.g. the ledger's group-commit
// thread, which answers after fdatasync.
//
// - The first invocation wins; later ones are ignored (and logged at debug level).
// - If every copy is destroyed without an invocation, the client gets a 500 problem, so a lost
//   responder is never a silent hang.
// - The Request and Peer passed to the handler stay valid until the first invocation; copy what
//   you need before answering if you keep working afterwards.
// - Invoke (or drop) every responder before the io_context serving its connection is destroyed.
class Responder {
public:
  explicit Responder(std::shared_ptr<ResponseSink> sink);
  // Delivers by calling `deliver`, for tests and in-process callers.
  explicit Responder(std::function<void(Response)> deliver);

  void operator()(Response response) const;
  bool responded() const;

private:
  struct State;
  std::shared_ptr<State> m_state;
};

// Handlers are asynchronous: they answer through the Responder, now or later.
using Handler = std::function<void(const Request& request, const Peer& peer, Responder respond)>;

// Told about every refusal for want of a role (403), and about unauthenticated requests on TLS
// listeners (401), so the daemon can audit them. Must not block; runs on the connection's thread.
using DeniedHook =
    std::function<void(const Request& request, const Peer& peer, std::string_view reason)>;

// Told about every request a server refused before any route saw it, because it could not be
// read whole: a body or header over its limit (413, 431) or malformed HTTP (400). The Request
// holds what was read of it (method and target once its start line was parsed, else nothing).
// Only for peers known at that point (Unix sockets: from SO_PEERCRED at accept). Must not block;
// runs on the connection's thread.
using RefusedHook = std::function<void(const Request& request, const Peer& peer, int status,
                                       std::string_view reason)>;

// Routes by method and path. A route is either an exact path ("/v1/events") or a path prefix
// ("/tile/", for C2SP tlog-tiles). Each route names the roles it accepts; a peer holding any of
// them may call it.
//
// Resolution: an exact path beats any prefix; among prefixes the longest wins. Then:
//   no route for the path          -> 404 problem (not_found)
//   path known, method not         -> 405 problem (method_not_allowed) with an Allow header
//   peer holds none of the roles   -> 403 problem (permission_denied), and the DeniedHook runs
//   otherwise                      -> the handler; an exception escaping it becomes a logged
//                                     500 problem (internal)
// Configure before serving; dispatch() is const and safe from many threads at once.
class Router {
public:
  // Registering the same method and path twice, or a route with no roles, is a programming error
  // and aborts.
  void add(Method method, std::string path, std::initializer_list<std::string_view> roles,
           Handler handler);
  void add_prefix(Method method, std::string prefix, std::initializer_list<std::string_view> roles,
                  Handler handler);

  void set_denied_hook(DeniedHook hook);
  void set_refused_hook(RefusedHook hook);

  // Routes one request. `respond` is invoked exactly once, now or later.
  void dispatch(const Request& request, const Peer& peer, Responder respond) const;

  // Runs the DeniedHook (if any) for a refusal decided outside the router, catching and logging
  // whatever it throws.
  void report_denied(const Request& request, const Peer& peer, std::string_view reason) const;
  // Runs the RefusedHook (if any), catching and logging whatever it throws.
  void report_refused(const Request& request, const Peer& peer, int status, std::string_view reason) const;

private:
  struct Route {
    Method method;
    std::vector<std::string> roles;
    Handler handler;
  };
  struct Resource {
    std::string path;
    std::vector<Route> routes;
  };

  void add_route(Method method, std::string path, bool prefix,
                 std::initializer_list<std::string_view> roles, Handler handler);
  const Resource* find_resource(std::string_view path) const;

  // Hashes strings and string_views alike, so that lookups by a request's path do not allocate.
  struct PathHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view path) const noexcept {
      return std::hash<std::string_view>{}(path);
    }
  };

  std::unordered_map<std::string, Resource, PathHash, std::equal_to<>> m_exact;
  std::vector<Resource> m_prefixes; // longest first
  DeniedHook m_denied_hook;
  RefusedHook m_refused_hook;
};

} // namespace cordon::ipc

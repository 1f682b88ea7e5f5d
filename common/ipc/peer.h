#pragma once

#include <set>
#include <string>
#include <string_view>
#include <unordered_map>

#include <sys/types.h>

#include "common/config.h"
#include "common/error.h"

namespace cordon::ipc {

enum class Transport { unix_socket, tls };

// A role name ("agentd", "admin", "auditor"). Sets are tiny; lookups take a string_view.
using RoleSet = std::set<std::string, std::less<>>;

// Who is on the other end of a connection. On a Unix socket the identity is the kernel's
// (SO_PEERCRED at accept), never anything the peer says; on TLS it is the verified client
// certificate or bearer token, and uid/gid/pid are unknown_id.
struct Peer {
  static constexpr uid_t unknown_id = static_cast<uid_t>(-1);

  uid_t uid = unknown_id;
  gid_t gid = static_cast<gid_t>(-1);
  pid_t pid = 0;
  std::string principal; // "auditd", "uid:1234", "auditor:alice", "auditor:token-3f2a9c01"
  RoleSet roles;
  Transport transport = Transport::unix_socket;
  std::string tls_subject;    // the client certificate's subject, one line; empty otherwise
  std::string remote_address; // TLS: the client's "ip:port"; empty on Unix sockets

  bool has_role(std::string_view role) const { return roles.find(role) != roles.end(); }
};

// The uid -> (principal, roles) map of a host, from configuration. A uid it does not know gets
// principal "uid:<n>" and no roles, so every route refuses it.
class PeerMap {
public:
  struct Identity {
    std::string principal;
    RoleSet roles;
  };

  // Fails (Errc::conflict) if `uid` is already mapped: two entries for one uid are a config
  // mistake, and picking either would be a guess.
  Result<void> add(uid_t uid, std::string principal, RoleSet roles);

  // The identity of a Unix-socket peer with these credentials.
  Peer resolve(uid_t uid, gid_t gid, pid_t pid) const;

  // Reads an array of tables such as
  //   [[peers]]
  //   uid = 998            # or user = "cordon-agent", looked up with getpwnam_r
  //   principal = "agentd"
  //   roles = ["agentd"]
  // Unknown keys, a missing principal or roles, a bad or duplicate uid, and an unknown user
  // name are errors naming the key. An absent array yields an empty map.
  static Result<PeerMap> from_config(const ConfigFile& config, std::string_view key = "peers");

  std::size_t size() const { return m_identities.size(); }

private:
  std::unordered_map<uid_t, Identity> m_identities;
};

} // namespace cordon::ipc

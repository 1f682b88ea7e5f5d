#include "common/ipc/peer.h"

#include <cerrno>
#include <cstring>
#include <vector>

#include <pwd.h>
#include <unistd.h>

namespace cordon::ipc {

namespace {

// The uid of a system user, via the NSS database (files for sysusers.d users).
Result<uid_t> uid_of_user(const std::string& name, const std::string& where) {
  long suggested = ::sysconf(_SC_GETPW_R_SIZE_MAX);
  std::vector<char> buffer(suggested > 0 ? static_cast<std::size_t>(suggested) : 16384);
  passwd entry{};
  passwd* found = nullptr;
  int rc = 0;
  while ((rc = ::getpwnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found)) == ERANGE &&
         buffer.size() < (1u << 20)) {
    buffer.resize(buffer.size() * 2);
  }
  if (rc != 0) {
    return fail(Errc::io_error, where + ": looking up user \"" + name + "\": " + std::strerror(rc));
  }
  if (found == nullptr) return fail(Errc::not_found, where + ": no such user \"" + name + "\"");
  return found->pw_uid;
}

} // namespace

Result<void> PeerMap::add(uid_t uid, std::string principal, RoleSet roles) {
  auto [position, inserted] =
      m_identities.emplace(uid, Identity{std::move(principal), std::move(roles)});
  (void)position;
  if (!inserted) return fail(Errc::conflict, "uid " + std::to_string(uid) + " is mapped twice");
  return ok();
}

Peer PeerMap::resolve(uid_t uid, gid_t gid, pid_t pid) const {
  Peer peer;
  peer.uid = uid;
  peer.gid = gid;
  peer.pid = pid;
  peer.transport = Transport::unix_socket;
  auto found = m_identities.find(uid);
  if (found == m_identities.end()) {
    peer.principal = "uid:" + std::to_string(uid);
  } else {
    peer.principal = found->second.principal;
    peer.roles = found->second.roles;
  }
  return peer;
}

Result<PeerMap> PeerMap::from_config(const ConfigFile& config, std::string_view key) {
  PeerMap map;
  auto entries = CORDON_TRY(config.optional_table_list(key));
  if (!entries) return map;
  for (const ConfigFile& entry : *entries) {
    CORDON_TRY_VOID(entry.require_known_keys({"uid", "user", "principal", "roles"}));
    auto uid_value = CORDON_TRY(entry.optional_integer("uid", 0, 0xfffffffe));
    auto user = CORDON_TRY(entry.optional_string("user"));
    std::string where = entry.source() + ": " + entry.key_prefix();
    if (uid_value.has_value() == user.has_value()) {
      return fail(Errc::invalid_argument, where + ": give exactly one of uid and user");
    }
    uid_t uid = 0;
    if (uid_value) {
      uid = static_cast<uid_t>(*uid_value);
    } else {
      uid = CORDON_TRY(uid_of_user(*user, where + ".user"));
    }
    std::string principal = CORDON_TRY(entry.string("principal"));
    if (principal.empty()) return fail(Errc::invalid_argument, where + ".principal: empty");
    auto role_list = CORDON_TRY(entry.string_list("roles"));
    RoleSet roles;
    for (std::string& role : role_list) {
      if (role.empty()) return fail(Errc::invalid_argument, where + ".roles: empty role name");
      roles.insert(std::move(role));
    }
    auto added = map.add(uid, std::move(principal), std::move(roles));
    if (!added) return fail(Errc::invalid_argument, where + ": " + added.error().message);
  }
  return map;
}

} // namespace cordon::ipc

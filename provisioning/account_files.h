#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <string_view>

#include <sys/types.h>

#include "common/error.h"

namespace cordon::provisioning {

// The users and groups of the system provisioning writes into, read from <root>/etc/passwd and
// <root>/etc/group (where sysusers.d puts the cordon-* accounts) rather than through NSS: under
// a --root other than "/" the target's accounts are the ones that count, not the host's.
class AccountFiles {
public:
  static Result<AccountFiles> load(const std::filesystem::path& root);

  // Errc::not_found naming the account when it is not there.
  Result<uid_t> uid_of(std::string_view user) const;
  Result<gid_t> gid_of(std::string_view group) const;

private:
  std::map<std::string, uid_t, std::less<>> m_users;
  std::map<std::string, gid_t, std::less<>> m_groups;
};

} // namespace cordon::provisioning

#include "provisioning/account_files.h"

#include <algorithm>
#include <charconv>

#include "common/files.h"
#include "provisioning/paths.h"

namespace cordon::provisioning {
namespace {

// name:password:id:... — the first and third fields of each well-formed line.
template <class Id>
std::map<std::string, Id, std::less<>> ids_of(std::string_view text) {
  std::map<std::string, Id, std::less<>> ids;
  while (!text.empty()) {
    const auto end = std::min(text.find('\n'), text.size());
    const std::string_view line = text.substr(0, end);
    text.remove_prefix(std::min(end + 1, text.size()));
    const auto first = line.find(':');
    const auto second = first == std::string_view::npos ? first : line.find(':', first + 1);
    const auto third = second == std::string_view::npos ? second : line.find(':', second + 1);
    if (third == std::string_view::npos || first == 0) continue;
    const std::string_view number = line.substr(second + 1, third - second - 1);
    unsigned long id = 0;
    const auto [rest, error] = std::from_chars(number.data(), number.data() + number.size(), id);
    if (error != std::errc() || rest != number.data() + number.size() || number.empty()) continue;
    ids.emplace(std::string(line.substr(0, first)), static_cast<Id>(id));
  }
  return ids;
}

} // namespace

Result<AccountFiles> AccountFiles::load(const std::filesystem::path& root) {
  AccountFiles accounts;
  accounts.m_users = ids_of<uid_t>(CORDON_TRY(read_file(root / paths::passwd)));
  accounts.m_groups = ids_of<gid_t>(CORDON_TRY(read_file(root / paths::group)));
  return accounts;
}

Result<uid_t> AccountFiles::uid_of(std::string_view user) const {
  const auto found = m_users.find(user);
  if (found == m_users.end())
    return fail(Errc::not_found, "no user " + std::string(user) + " in etc/passwd (are the cordon-* users created by sysusers.d?)");
  return found->second;
}

Result<gid_t> AccountFiles::gid_of(std::string_view group) const {
  const auto found = m_groups.find(group);
  if (found == m_groups.end()) return fail(Errc::not_found, "no group " + std::string(group) + " in etc/group");
  return found->second;
}

} // namespace cordon::provisioning

#include "secretsd/kek/credential_kek.h"

#include "common/crypto.h"
#include "common/files.h"

namespace cordon::secretsd {

std::string CredentialKek::describe() const {
  return "credential " + m_name + " (systemd LoadCredentialEncrypted=" +
         (m_source ? m_source->string() : std::string("?")) + ")";
}

Result<SecureBytes> CredentialKek::load_or_create() {
  if (m_directory.empty())
    return fail(Errc::not_found, "KEK custody is 'credential' but $CREDENTIALS_DIRECTORY is not set "
                                 "(the unit needs LoadCredentialEncrypted=" + m_name + ")");
  const auto path = m_directory / m_name;
  auto text = read_file(path);
  if (!text) return fail(Errc::not_found, "the systemd credential " + m_name + " was not passed to secretsd");
  auto kek = SecureBytes::copy_of(*text);
  crypto::wipe({reinterpret_cast<std::uint8_t*>(text->data()), text->size()});
  if (!kek) return kek;
  if (kek->size() != kek_bytes)
    return fail(Errc::integrity, "the systemd credential " + m_name + " is not a " +
                                     std::to_string(kek_bytes) + "-byte key");
  return kek;
}

Result<void> CredentialKek::shred() {
  if (!m_source)
    return fail(Errc::invalid_argument, "cannot shred the credential KEK: its source file is not configured");
  return shred_file(*m_source);
}

} // namespace cordon::secretsd

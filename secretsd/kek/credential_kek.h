#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "secretsd/kek/kek_custody.h"

namespace cordon::secretsd {

// The KEK as a systemd credential: the unit says LoadCredentialEncrypted=<name>:<source>, and
// systemd decrypts it (with the host key, TPM-bound where the host has a TPM) into
// $CREDENTIALS_DIRECTORY/<name>, a private ramfs only this service can read. Provisioning
// creates the credential; secretsd never creates one, since it cannot encrypt for systemd.
class CredentialKek final : public KekCustody {
public:
  // `credentials_directory`: $CREDENTIALS_DIRECTORY. `source`: the encrypted credential file the
  // unit loads (e.g. /etc/credstore.encrypted/cordon-kek), overwritten and removed by shred();
  // without it shred() refuses rather than pretend.
  CredentialKek(std::filesystem::path credentials_directory, std::string name,
                std::optional<std::filesystem::path> source)
      : m_directory(std::move(credentials_directory)), m_name(std::move(name)), m_source(std::move(source)) {}
  KekCustodyKind kind() const override { return KekCustodyKind::credential; }
  std::string describe() const override;
  // Errc::not_found when the credential was not passed; Errc::integrity unless it is exactly
  // kek_bytes long.
  Result<SecureBytes> load_or_create() override;
  Result<void> shred() override;

private:
  std::filesystem::path m_directory;
  std::string m_name;
  std::optional<std::filesystem::path> m_source;
};

} // namespace cordon::secretsd

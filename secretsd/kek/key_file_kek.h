#pragma once

#include <filesystem>
#include <memory>

#include "secretsd/kek/kek_custody.h"

namespace cordon::secretsd {

// The KEK in a 0600 file owned by secretsd's user. For development only: anyone who can read the
// file (root, a backup, a disk image) holds every secret; describe() says so.
class KeyFileKek final : public KekCustody {
public:
  explicit KeyFileKek(std::filesystem::path path) : m_path(std::move(path)) {}
  KekCustodyKind kind() const override { return KekCustodyKind::key_file; }
  std::string describe() const override;
  // Creates the file (random, 0600, synced) when absent; refuses a file of another mode, owner
  // or size (see load_or_create_secret_file).
  Result<SecureBytes> load_or_create() override;
  // Overwrites and removes the file.
  Result<void> shred() override;

private:
  std::filesystem::path m_path;
};

} // namespace cordon::secretsd

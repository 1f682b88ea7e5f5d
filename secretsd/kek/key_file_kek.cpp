#include "secretsd/kek/key_file_kek.h"

#include "common/crypto.h"
#include "common/files.h"
#include "common/secret_file.h"

namespace cordon::secretsd {

std::string KeyFileKek::describe() const {
  return "key_file " + m_path.string() + " (development only: the KEK is a plain file on disk)";
}

Result<SecureBytes> KeyFileKek::load_or_create() {
  auto bytes = CORDON_TRY(load_or_create_secret_file(m_path, kek_bytes));
  auto kek = SecureBytes::copy_of(bytes);
  crypto::wipe(bytes);
  return kek;
}

Result<void> KeyFileKek::shred() { return shred_file(m_path); }

} // namespace cordon::secretsd

#include "secretsd/kek/kek_custody.h"

namespace cordon::secretsd {

std::string_view kek_custody_name(KekCustodyKind kind) {
  switch (kind) {
  case KekCustodyKind::tpm: return "tpm";
  case KekCustodyKind::credential: return "credential";
  case KekCustodyKind::key_file: return "key_file";
  }
  return "unknown";
}

} // namespace cordon::secretsd

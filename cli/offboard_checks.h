#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/program.h"

namespace cordon::cli {

using RunProgram = std::function<Result<ProgramOutput>(const std::vector<std::string>&)>;

// One thing offboarding checked afterwards, as it prints it.
struct LeftoverCheck {
  std::string what;   // "no /var/lib/cordon"
  bool passed = false;
  std::string detail; // what was found instead, when it failed
};

// Where secretsd's KEK was sealed, read from its configuration before it is wiped.
struct TpmObject {
  std::string tcti;
  std::uint32_t handle = 0;
};

struct LeftoverScope {
  std::vector<std::filesystem::path> paths;  // must not exist
  std::filesystem::path unit_dir;            // holds no cordon-* entry
  std::optional<TpmObject> tpm;              // holds no object, when the KEK was sealed to a TPM
};

// Checks that nothing of the tenant is left: no path of `scope`, no cordon-* drop-in or
// credential directory, no Cordon unit active or enabled, no journal entry of a Cordon unit, no
// TPM object at the KEK's parent handle. Each check is answered, failed or not.
std::vector<LeftoverCheck> check_nothing_left(const LeftoverScope& scope, const RunProgram& run);

// Whether the TPM behind `tcti` holds an object at persistent `handle` (tpm2-tss ESYS).
Result<bool> tpm_holds_object(const TpmObject& object);

} // namespace cordon::cli

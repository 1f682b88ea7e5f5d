#pragma once

#include <string>

#include "common/error.h"
#include "common/ipc/client_pool.h"
#include "common/json.h"

namespace cordon::approvald {

// Signs decisions with the decision key, which only secretsd holds and only approvald's uid may
// use (DESIGN.md §5.2): POST /v1/sign {"key": "decision", "message_base64": JCS(decision)}.
// Thread-safe.
class DecisionSigner {
public:
  explicit DecisionSigner(std::string secretsd_socket);

  // The packet {"decision", "signature", "key_id"}. Errc::unavailable when secretsd cannot be
  // reached or refuses (then there is no packet: the gate stays closed).
  Result<Json> sign(const Json& decision);

private:
  ipc::ClientPool m_secretsd;
};

} // namespace cordon::approvald

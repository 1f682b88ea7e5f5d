#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/ipc/client_pool.h"
#include "common/json.h"
#include "common/secure_bytes.h"

namespace cordon::agentd {

// agentd's side of the gate: proposals to approvald (POST /v1/decisions) and the decision key
// from secretsd (GET /v1/keys), which agentd needs to verify every packet itself. Thread-safe.
class GateClient {
public:
  GateClient(std::string approvald_socket, std::string secretsd_socket);

  // The signed packet approvald answered. Errc::unavailable when approvald cannot be reached or
  // cannot issue (fail closed); approvald's own error (invalid_argument, …) for a proposal it
  // refused.
  Result<Json> decide(const Json& proposal);

  // The decision key's Ed25519 public key, fetched once and kept. Errc::unavailable while
  // secretsd cannot tell it.
  Result<std::vector<std::uint8_t>> decision_public_key();

  // A secretsd lease of `secret` for the call `action` allowed by `packet` (DESIGN.md §8):
  // secretsd verifies the packet again, spends its nonce in its own store, checks the secret's
  // tool scope and records lease.issued. The value is wiped from memory by SecureBytes.
  struct Lease {
    std::string id;
    SecureBytes value;
  };
  Result<Lease> lease(const Json& packet, const Json& action, const std::string& secret, const std::string& run_id);
  // Ends a lease early (lease.released). Best effort: an unreleased lease expires in ≤ 60 s.
  void release(const std::string& lease_id);

private:
  ipc::ClientPool m_approvald;
  ipc::ClientPool m_secretsd;
  std::mutex m_key_mutex;
  std::vector<std::uint8_t> m_decision_key;
};

} // namespace cordon::agentd

#pragma once

#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>

#include "common/audit/audit_client.h"
#include "common/clock.h"
#include "common/decision/decision_packet.h"
#include "common/error.h"
#include "common/ipc/peer.h"
#include "common/json.h"
#include "common/side_threads.h"
#include "secretsd/kek/kek_custody.h"
#include "secretsd/key_ring.h"
#include "secretsd/secretsd_config.h"
#include "secretsd/vault/lease_book.h"
#include "secretsd/vault/vault.h"

namespace cordon::secretsd {

// secretsd's logic (DESIGN.md §8), without HTTP: the admin operations, the signing oracle,
// leases and crypto-shred. Each public call takes the caller's kernel-attested identity and a
// parsed body (api.h), and answers the JSON body of a success or an Error.
//
// Fail closed: every operation that changes state or hands out a value first records its audit
// event durably (AuditClient); when auditd refuses or is down, the operation does not happen and
// the caller gets Errc::unavailable. Refusals are recorded too, best effort: a refusal stands
// whether or not the ledger took it. One exception, by design: signatures with the checkpoint
// key are not recorded one by one, since each record would grow the tree and call for another
// checkpoint; the checkpoints themselves are the ledger's record of them.
//
// Thread-safe.
class Custodian {
public:
  struct Parts {
    const SecretsdConfig& config;
    std::unique_ptr<KekCustody> custody;
    std::unique_ptr<Vault> vault;   // null once shredded
    std::unique_ptr<KeyRing> keys;  // null once shredded
    std::unique_ptr<LeaseBook> leases; // null once shredded
    std::optional<std::string> shredded_at;
    AuditClient& audit;
    const Clock& clock;
  };
  explicit Custodian(Parts parts);

  // Creates the decision key if it does not exist yet (auditd asks for the checkpoint key itself:
  // create_checkpoint_key).
  Result<void> ensure_keys();

  Json status() const;
  Result<Json> list_secrets(const ipc::Peer& caller) const;
  Result<Json> put_secret(const ipc::Peer& caller, std::string_view name, const Json& body);
  Result<Json> rotate_secret(const ipc::Peer& caller, std::string_view name, const Json& body);
  Result<Json> delete_secret(const ipc::Peer& caller, std::string_view name);
  Result<Json> list_keys() const;
  // The checkpoint key, once: imported from {"seed_base64"} (auditd's old key file, so the
  // verifier key auditors pinned stays valid) or generated from {}. Errc::conflict if it exists.
  Result<Json> create_checkpoint_key(const ipc::Peer& caller, const Json& body);
  // A customer signing key, generated here: {"name", "purpose": "customer"}. It signs only for
  // agentd, with a decision packet for crypto.sign of that key and the message's SHA-256.
  Result<Json> create_customer_key(const ipc::Peer& caller, const Json& body);
  Result<Json> sign(const ipc::Peer& caller, const Json& body);
  Result<Json> issue_lease(const ipc::Peer& caller, const Json& body);
  Result<Json> release_lease(const ipc::Peer& caller, std::string_view id);
  // Records lease.expired for every lease past its expiry; the daemon calls it each second.
  void expire_leases();
  Result<Json> shred(const ipc::Peer& caller, const Json& body);
  // An approver's second factor, for approvald only: {"approver", "code", "context"} checks the
  // RFC 6238 code against the secret `totp.<approver>` (scope "approval.totp", so it is never
  // leased), within one step either side. A code is good once: its step is spent like a nonce,
  // with the step before it. Answers {"approver", "verified": true, "step"} after recording
  // totp.verified; a wrong, stale or replayed code is refused (403) and recorded as
  // totp.refused. The secret never leaves secretsd.
  Result<Json> verify_totp(const ipc::Peer& caller, const Json& body);

private:
  Result<AuditAck> record(const ipc::Peer& caller, std::string kind, Json data);
  void record_refusal(const ipc::Peer& caller, std::string kind, const Error& error, Json data);
  Result<void> require_live() const;
  // The decision of `packet` for `action`, verified (decision key, tenant, digest, expiry) and
  // with verdict allow and mode live; `refusal_kind` says "signature_rejected" or "refused".
  // Single use is the caller's: it spends the nonce with what it grants.
  Result<decision::Decision> allowed_decision(const Json& packet, const Json& action, std::string& refusal_kind) const;
  Result<void> check_sign_purpose(const ipc::Peer& caller, const PublicKeyInfo& key, std::string_view message,
                                  const Json& body);
  std::string now_text() const;

  const SecretsdConfig& m_config;
  AuditClient& m_audit;
  const Clock& m_clock;
  mutable std::shared_mutex m_state_mutex; // shared by every call; exclusive for shred
  std::unique_ptr<KekCustody> m_custody;
  std::unique_ptr<Vault> m_vault;
  std::unique_ptr<KeyRing> m_keys;
  std::unique_ptr<LeaseBook> m_leases;
  std::optional<std::string> m_shredded_at;
  SideThreads m_side; // records a key.signed while its signature is computed
  bool m_memory_locked = true;
};

} // namespace cordon::secretsd

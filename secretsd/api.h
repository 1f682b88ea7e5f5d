#pragma once

#include <cstddef>

// secretsd's contract (DESIGN.md §8). On the Unix socket /run/cordon/secretsd.sock, every request
// attributed by SO_PEERCRED; bodies are JSON, unknown members are refused, errors are RFC 9457
// problems. No route returns a stored value except a lease, and none returns a private key.
//
//   GET    /v1/status                 any mapped role   {"tenant", "state": ready|shredded,
//                                                        "kek_custody", "kek", "memory_locked",
//                                                        "secrets", "keys"}
//   GET    /v1/secrets                admin             {"secrets": [{"name", "version", "tools",
//                                                        "created_at"}]}  metadata only
//   PUT    /v1/secrets/{name}         admin             {"value_base64", "tools": [tool, …]}
//                                                        201 metadata; 409 if it exists
//   POST   /v1/secrets/{name}/rotate  admin             {"value_base64", "tools"?}  a new version
//   DELETE /v1/secrets/{name}         admin             every version
//   GET    /v1/keys                   any mapped role   {"keys": [{"name", "purpose",
//                                                        "public_key", "key_id", "verifier_key"?}]}
//   POST   /v1/keys/checkpoint        auditd            {"seed_base64"}: imported once, so that
//                                                        the verifier key auditors pinned stays
//                                                        valid; {}: generated. 201, or 409 once
//                                                        it exists
//   POST   /v1/keys                   admin             {"name", "purpose": "customer"}: a
//                                                        customer signing key, generated here
//   POST   /v1/sign                   approvald, auditd, {"key", "message_base64", "packet"?,
//                                     agentd             "action"?} ->
//                                                        {"key", "key_id", "signature"}; the
//                                                        decision key signs only JCS decisions of
//                                                        this tenant, for approvald; the checkpoint
//                                                        key only checkpoints of this origin, for
//                                                        auditd; a customer key only for agentd,
//                                                        with a packet allowing the action
//                                                        {"tool": "crypto.sign", "arguments":
//                                                        {"key", "message_sha256"}} (single use)
//   POST   /v1/leases                 agentd            {"packet", "action", "secret", "run_id"?}
//                                                        201 {"lease_id", "secret", "version",
//                                                        "value_base64", "ttl_s", "expires_at"}
//   DELETE /v1/leases/{id}            agentd            releases a lease early
//   POST   /v1/totp/verify            approvald         {"approver", "code", "context"} ->
//                                                        {"approver", "verified", "step"}: an
//                                                        approver's RFC 6238 code against the
//                                                        secret totp.<approver> (scope
//                                                        approval.totp); each code once
//   POST   /v1/shred                  admin             {"confirm_tenant"}: crypto-shred
//
// A lease is granted only for a packet signed by the decision key, of this tenant, for the
// digest of the given action, unexpired, never used before (nonce), with verdict allow and mode
// live, and for a secret whose scope names the action's tool.
namespace cordon::secretsd {

inline constexpr std::size_t max_request_body_bytes = 256 << 10;

} // namespace cordon::secretsd

#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/json.h"

// The signed decision packet (DESIGN.md §5.2) and the action digest it is bound to (§5.1).
// approvald issues packets; agentd and secretsd verify them with verify_decision_packet.
namespace cordon::decision {

// The proposed call a decision is about: {"tool", "tool_pin", "arguments", "target"}.
// "target" may be absent or null (digested as null); "arguments" is an object.
//
// action_digest = "sha256:" + hex(SHA-256(JCS({tenant, tool, tool_pin, arguments, target}))).
// Fails with Errc::invalid_argument for a malformed action, unknown members, or any
// floating-point number (digested objects carry none: confidence is basis points).
Result<std::string> action_digest(std::string_view tenant, const Json& action);

// The key id of a decision key: "ed25519:" + the first 16 hex digits of SHA-256(public key).
std::string decision_key_id(std::span<const std::uint8_t> public_key);

struct Decision {
  std::string id;            // "d-…"
  std::string tenant;
  std::string action_digest; // "sha256:<hex>"
  std::string verdict;       // allow | deny | pending
  std::string mode;          // live | dry_run
  std::vector<std::string> rules;
  std::string policy_version;
  Json approval;             // null or {"id", "approvers", "evidence"}
  std::chrono::system_clock::time_point issued_at;
  std::chrono::system_clock::time_point expires_at;
  std::string nonce;
};

// Reads a decision object strictly: every member named above and nothing else, verdict and mode
// from their sets, RFC 3339 times with expires_at after issued_at. Errc::invalid_argument or
// Errc::unknown_field.
Result<Decision> parse_decision(const Json& decision);

// Why a packet was refused: the executor records `<prefix>.signature_rejected` for `signature`
// and a refusal naming the reason for the others.
enum class Rejection { malformed, signature, tenant, digest, expired, replayed, verdict };
std::string_view rejection_name(Rejection rejection);

struct PacketError {
  Rejection rejection;
  Error error;
};

// What a verifier holds: the decision public key, its tenant and the time.
struct PacketExpectations {
  std::string tenant;
  std::string action_digest;
  std::span<const std::uint8_t> decision_public_key;
  std::chrono::system_clock::time_point now;
  // Tolerated clock difference for issued_at in the future.
  std::chrono::seconds clock_skew{5};
};

// Checks, in this order: the packet's shape ({"decision", "signature", "key_id"}, nothing else;
// the decision's members, nothing else), the key id and the Ed25519 signature over
// JCS(decision), the tenant, the action digest, and issued_at ≤ now + skew < expires_at.
// Single use (the nonce) and the verdict are the caller's to check: only it knows what it has
// seen and what it needs. Never throws.
tl::expected<Decision, PacketError> verify_decision_packet(const Json& packet,
                                                           const PacketExpectations& expected);

// The canonical bytes a decision key signs: JCS(decision). Fails on a float or non-object.
Result<std::string> decision_signing_bytes(const Json& decision);

} // namespace cordon::decision

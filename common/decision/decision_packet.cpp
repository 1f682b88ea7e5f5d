#include "common/decision/decision_packet.h"

#include "common/clock.h"
#include "common/crypto.h"
#include "common/encoding.h"

namespace cordon::decision {

namespace {

tl::unexpected<PacketError> reject(Rejection rejection, Errc code, std::string message) {
  return tl::unexpected(PacketError{rejection, Error{code, std::move(message)}});
}

bool is_string_member(const Json& object, const char* name) {
  const auto found = object.find(name);
  return found != object.end() && found->is_string() && !found->get_ref<const std::string&>().empty();
}

Result<std::chrono::system_clock::time_point> time_member(const Json& decision, const char* name) {
  if (!is_string_member(decision, name)) return fail(Errc::invalid_argument, std::string("decision.") + name + " is missing");
  auto time = parse_rfc3339(decision[name].get_ref<const std::string&>());
  if (!time) return fail(Errc::invalid_argument, std::string("decision.") + name + " is not an RFC 3339 time");
  return *time;
}

} // namespace

Result<Decision> parse_decision(const Json& decision) {
  if (!decision.is_object()) return fail(Errc::invalid_argument, "decision must be an object");
  CORDON_TRY_VOID(require_known_fields(decision, {"id", "tenant", "action_digest", "verdict", "mode", "rules",
                                                  "policy_version", "approval", "issued_at", "expires_at",
                                                  "nonce"}));
  for (const char* name : {"id", "tenant", "action_digest", "verdict", "mode", "policy_version", "nonce"}) {
    if (!is_string_member(decision, name)) return fail(Errc::invalid_argument, std::string("decision.") + name + " must be a non-empty string");
  }
  Decision out;
  out.id = decision["id"];
  out.tenant = decision["tenant"];
  out.action_digest = decision["action_digest"];
  out.verdict = decision["verdict"];
  out.mode = decision["mode"];
  out.policy_version = decision["policy_version"];
  out.nonce = decision["nonce"];
  if (out.verdict != "allow" && out.verdict != "deny" && out.verdict != "pending")
    return fail(Errc::invalid_argument, "decision.verdict must be allow, deny or pending");
  if (out.mode != "live" && out.mode != "dry_run") return fail(Errc::invalid_argument, "decision.mode must be live or dry_run");
  const auto rules = decision.find("rules");
  if (rules == decision.end() || !rules->is_array()) return fail(Errc::invalid_argument, "decision.rules must be an array");
  for (const auto& rule : *rules) {
    if (!rule.is_string()) return fail(Errc::invalid_argument, "decision.rules must hold strings");
    out.rules.push_back(rule);
  }
  const auto approval = decision.find("approval");
  out.approval = approval == decision.end() ? Json() : *approval;
  if (!out.approval.is_null() && !out.approval.is_object())
    return fail(Errc::invalid_argument, "decision.approval must be an object or null");
  out.issued_at = CORDON_TRY(time_member(decision, "issued_at"));
  out.expires_at = CORDON_TRY(time_member(decision, "expires_at"));
  if (out.expires_at <= out.issued_at) return fail(Errc::invalid_argument, "decision.expires_at is not after issued_at");
  return out;
}

std::string_view rejection_name(Rejection rejection) {
  switch (rejection) {
  case Rejection::malformed: return "malformed";
  case Rejection::signature: return "signature";
  case Rejection::tenant: return "tenant";
  case Rejection::digest: return "digest";
  case Rejection::expired: return "expired";
  case Rejection::replayed: return "replayed";
  case Rejection::verdict: return "verdict";
  }
  return "unknown";
}

Result<std::string> action_digest(std::string_view tenant, const Json& action) {
  if (!action.is_object()) return fail(Errc::invalid_argument, "action must be an object");
  CORDON_TRY_VOID(require_known_fields(action, {"tool", "tool_pin", "arguments", "target"}));
  if (!is_string_member(action, "tool")) return fail(Errc::invalid_argument, "action.tool must be a non-empty string");
  if (!is_string_member(action, "tool_pin")) return fail(Errc::invalid_argument, "action.tool_pin must be a non-empty string");
  const auto arguments = action.find("arguments");
  if (arguments == action.end() || !arguments->is_object()) return fail(Errc::invalid_argument, "action.arguments must be an object");
  const auto target = action.find("target");
  const Json target_value = target == action.end() ? Json() : *target;
  if (!target_value.is_null() && !target_value.is_object()) return fail(Errc::invalid_argument, "action.target must be an object or null");
  const Json digested = {{"tenant", tenant}, {"tool", action["tool"]}, {"tool_pin", action["tool_pin"]},
                         {"arguments", *arguments}, {"target", target_value}};
  if (contains_float(digested)) return fail(Errc::invalid_argument, "a digested action holds a floating-point number");
  const std::string canonical = CORDON_TRY(canonical_json(digested));
  return "sha256:" + to_hex(crypto::sha256(canonical));
}

std::string decision_key_id(std::span<const std::uint8_t> public_key) {
  return "ed25519:" + to_hex(crypto::sha256(public_key)).substr(0, 16);
}

Result<std::string> decision_signing_bytes(const Json& decision) {
  if (!decision.is_object()) return fail(Errc::invalid_argument, "decision must be an object");
  if (contains_float(decision)) return fail(Errc::invalid_argument, "a decision holds a floating-point number");
  return canonical_json(decision);
}

tl::expected<Decision, PacketError> verify_decision_packet(const Json& packet, const PacketExpectations& expected) {
  if (!packet.is_object()) return reject(Rejection::malformed, Errc::invalid_argument, "the decision packet must be an object");
  if (auto known = require_known_fields(packet, {"decision", "signature", "key_id"}); !known)
    return reject(Rejection::malformed, known.error().code, "decision packet: " + known.error().message);
  if (!is_string_member(packet, "signature") || !is_string_member(packet, "key_id") || !packet.contains("decision"))
    return reject(Rejection::malformed, Errc::invalid_argument, "the decision packet needs decision, signature and key_id");
  auto decision = parse_decision(packet["decision"]);
  if (!decision) return reject(Rejection::malformed, decision.error().code, "decision packet: " + decision.error().message);

  if (packet["key_id"] != decision_key_id(expected.decision_public_key))
    return reject(Rejection::signature, Errc::permission_denied, "the decision packet is not signed by this tenant's decision key");
  auto signature = from_base64(packet["signature"].get_ref<const std::string&>());
  auto message = decision_signing_bytes(packet["decision"]);
  if (!signature || signature->size() != 64 || !message ||
      !crypto::ed25519_verify(expected.decision_public_key, as_bytes(*message), *signature))
    return reject(Rejection::signature, Errc::permission_denied, "the decision packet's signature does not verify");

  if (decision->tenant != expected.tenant)
    return reject(Rejection::tenant, Errc::permission_denied, "the decision is for another tenant");
  if (decision->action_digest != expected.action_digest)
    return reject(Rejection::digest, Errc::permission_denied, "the decision is for another action (digest mismatch)");
  if (decision->issued_at > expected.now + expected.clock_skew)
    return reject(Rejection::expired, Errc::permission_denied, "the decision was issued in the future");
  if (expected.now >= decision->expires_at)
    return reject(Rejection::expired, Errc::permission_denied, "the decision has expired");
  return std::move(*decision);
}

} // namespace cordon::decision

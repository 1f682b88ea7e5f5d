// Decision packets and action digests (DESIGN.md §5.1, §5.2).
#include <catch2/catch.hpp>

#include "common/clock.h"
#include "common/crypto.h"
#include "common/decision/decision_packet.h"
#include "common/encoding.h"

using namespace cordon;
using decision::Rejection;

namespace {

const Json action = {{"tool", "http.request"}, {"tool_pin", "sha256:ab"},
                     {"arguments", {{"url", "https://api.example.com/"}}}, {"target", nullptr}};

struct Signed {
  crypto::Ed25519KeyPair key = crypto::ed25519_generate().value();
  std::chrono::system_clock::time_point now = parse_rfc3339("2026-12-01T12:00:00Z").value();

  Json decision_for(const std::string& digest) const {
    return {{"id", "d-1"}, {"tenant", "acme"}, {"action_digest", digest}, {"verdict", "allow"},
            {"mode", "live"}, {"rules", {"allow-http"}}, {"policy_version", "sha256:00"}, {"approval", nullptr},
            {"issued_at", "2026-12-01T12:00:00Z"}, {"expires_at", "2026-12-01T12:02:00Z"}, {"nonce", "n-1"}};
  }
  Json packet(const Json& decision_value) const {
    const auto bytes = decision::decision_signing_bytes(decision_value).value();
    const auto signature = crypto::ed25519_sign(key, as_bytes(bytes)).value();
    return {{"decision", decision_value}, {"signature", to_base64(signature)},
            {"key_id", decision::decision_key_id(key.public_key)}};
  }
  decision::PacketExpectations expect(const std::string& digest) const {
    return {"acme", digest, key.public_key, now + std::chrono::seconds(10)};
  }
};

} // namespace

TEST_CASE("the action digest is SHA-256 of the JCS of tenant, tool, pin, arguments and target") {
  const auto digest = decision::action_digest("acme", action).value();
  const std::string canonical =
      R"({"arguments":{"url":"https://api.example.com/"},"target":null,"tenant":"acme","tool":"http.request","tool_pin":"sha256:ab"})";
  CHECK(digest == "sha256:" + to_hex(crypto::sha256(canonical)));
}

TEST_CASE("any change to the call or the tenant is a new digest") {
  const auto base = decision::action_digest("acme", action).value();
  Json changed = action;
  changed["arguments"]["url"] = "https://api.example.com/x";
  CHECK(decision::action_digest("acme", changed).value() != base);
  CHECK(decision::action_digest("globex", action).value() != base);
  changed = action;
  changed["tool_pin"] = "sha256:ac";
  CHECK(decision::action_digest("acme", changed).value() != base);
}

TEST_CASE("a digested action with a float, an unknown member or no arguments is refused") {
  Json with_float = action;
  with_float["arguments"]["amount"] = 1.5;
  CHECK(decision::action_digest("acme", with_float).error().code == Errc::invalid_argument);
  Json unknown = action;
  unknown["extra"] = 1;
  CHECK(decision::action_digest("acme", unknown).error().code == Errc::unknown_field);
  Json missing = action;
  missing.erase("arguments");
  CHECK(decision::action_digest("acme", missing).error().code == Errc::invalid_argument);
}

TEST_CASE("a packet signed by the decision key for this action verifies") {
  Signed s;
  const auto digest = decision::action_digest("acme", action).value();
  auto verified = decision::verify_decision_packet(s.packet(s.decision_for(digest)), s.expect(digest));
  REQUIRE(verified);
  CHECK(verified->verdict == "allow");
  CHECK(verified->nonce == "n-1");
}

TEST_CASE("a forged, altered, expired, other-tenant or other-digest packet is refused with its reason") {
  Signed s;
  const auto digest = decision::action_digest("acme", action).value();
  auto packet = s.packet(s.decision_for(digest));

  Json altered = packet;
  altered["decision"]["verdict"] = "allow";
  altered["decision"]["mode"] = "dry_run";
  CHECK(decision::verify_decision_packet(altered, s.expect(digest)).error().rejection == Rejection::signature);

  Signed forger;
  Json forged = forger.packet(s.decision_for(digest));
  CHECK(decision::verify_decision_packet(forged, s.expect(digest)).error().rejection == Rejection::signature);

  auto other_digest = s.expect(digest);
  other_digest.action_digest = "sha256:00";
  CHECK(decision::verify_decision_packet(packet, other_digest).error().rejection == Rejection::digest);

  auto other_tenant = s.expect(digest);
  other_tenant.tenant = "globex";
  CHECK(decision::verify_decision_packet(packet, other_tenant).error().rejection == Rejection::tenant);

  auto late = s.expect(digest);
  late.now = s.now + std::chrono::minutes(3);
  CHECK(decision::verify_decision_packet(packet, late).error().rejection == Rejection::expired);

  Json unknown = packet;
  unknown["extra"] = true;
  CHECK(decision::verify_decision_packet(unknown, s.expect(digest)).error().rejection == Rejection::malformed);
}

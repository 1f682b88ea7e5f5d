#include "auditd/auditor/ocsf.h"

#include <chrono>

#include "common/clock.h"
#include "auditd/ledger/hash.h"
#include "common/encoding.h"

namespace cordon::auditor {
namespace {

// OCSF API Activity activity_id: 1 Create, 2 Read, 3 Update, 4 Delete, 99 Other. Cordon's kinds
// name a subject and a verb ("decision.issued", "lease.released"); the verb decides.
int activity_for(std::string_view kind) {
  auto dot = kind.rfind('.');
  std::string_view verb = dot == std::string_view::npos ? kind : kind.substr(dot + 1);
  if (verb == "issued" || verb == "created" || verb == "provisioned" || verb == "granted" ||
      verb == "appended")
    return 1;
  if (verb == "read" || verb == "listed" || verb == "pulled") return 2;
  if (verb == "updated" || verb == "rotated" || verb == "amended" || verb == "reloaded") return 3;
  if (verb == "deleted" || verb == "released" || verb == "revoked" || verb == "shredded" ||
      verb == "expired")
    return 4;
  return 99;
}

// Refusals and failures are OCSF status 2 (Failure); everything else 1 (Success).
bool is_failure(std::string_view kind) {
  for (std::string_view marker : {"refused", "rejected", "denied", "failed", "error"}) {
    if (kind.find(marker) != std::string_view::npos) return true;
  }
  return false;
}

} // namespace

Result<Json> to_ocsf(std::string_view leaf) {
  auto event = CORDON_TRY(parse_json(leaf, JsonLimits{.max_bytes = 1 << 17, .max_depth = 64}));
  for (const char* key : {"index", "time", "tenant", "source", "actor", "kind", "prev", "data"}) {
    if (!event.is_object() || !event.contains(key))
      return fail(Errc::invalid_argument, std::string("event lacks \"") + key + "\"");
  }
  if (!event["time"].is_string() || !event["kind"].is_string() || !event["index"].is_number_unsigned())
    return fail(Errc::invalid_argument, "event has mistyped time, kind or index");
  auto time = CORDON_TRY(parse_rfc3339(event["time"].get<std::string>()));
  auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch());

  const std::string kind = event["kind"].get<std::string>();
  const int activity = activity_for(kind);
  const bool failure = is_failure(kind);
  const Json& actor = event["actor"];
  const std::string actor_type = actor.value("type", "");
  const std::string actor_id = actor.value("id", "");

  Json out = {
      {"category_uid", 6},
      {"category_name", "Application Activity"},
      {"class_uid", 6003},
      {"class_name", "API Activity"},
      {"activity_id", activity},
      {"type_uid", 6003 * 100 + activity},
      {"severity_id", failure ? 3 : 1},
      {"status_id", failure ? 2 : 1},
      {"status", failure ? "Failure" : "Success"},
      {"time", millis.count()},
      {"message", kind},
      {"metadata",
       {{"version", "1.1.0"},
        {"uid", std::to_string(event["index"].get<std::uint64_t>())},
        {"original_time", event["time"]},
        {"tenant_uid", event["tenant"]},
        {"log_name", "cordon-audit"},
        {"product", {{"name", "Cordon"}, {"vendor_name", "Cordon"}, {"feature", {{"name", event["source"]}}}}},
        {"correlation_uid", event.value("run_id", Json())},
        {"extensions", Json::array()}}},
      {"api", {{"operation", kind}, {"service", {{"name", event["source"]}}}}},
      {"actor",
       {{"user", {{"uid", actor_id}, {"name", actor_id}, {"type", actor_type}}},
        {"app_name", event["source"]}}},
      {"src_endpoint", {{"svc_name", event["source"]}}},
      {"unmapped",
       {{"cordon_index", event["index"]},
        {"cordon_prev", event["prev"]},
        {"cordon_leaf_hash", ledger::hash_to_hex(ledger::leaf_hash(leaf))},
        {"data", event["data"]}}},
  };
  return out;
}

} // namespace cordon::auditor

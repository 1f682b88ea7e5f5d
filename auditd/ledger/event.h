#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "auditd/ledger/hash.h"
#include "common/error.h"
#include "common/json.h"
#include "common/json_document.h"

// The ledger's event format (DESIGN.md §7). A leaf is the RFC 8785 canonical JSON of
//
//   {"actor":{"id":…,"type":"agent|human|system"},"data":{…},"index":N,"kind":"a.b",
//    "prev":"<64 hex>","run_id":"…"|null,"source":"…","tenant":"…","time":"…Z"}
//
// with the members in exactly this (sorted) order and no whitespace. `prev` is the lowercase hex
// of the previous entry's RFC 6962 leaf hash (64 zeros for index 0), `time` is RFC 3339 UTC with
// six fraction digits, `source` is set by auditd from the peer's credentials and `tenant` from
// its configuration; neither is ever taken from the request.
namespace cordon::ledger {

// Bounds of the format. A leaf fits a C2SP entry bundle's uint16 length.
inline constexpr std::size_t max_leaf_bytes = 65535;
inline constexpr std::size_t max_kind_bytes = 64;
inline constexpr std::size_t max_actor_id_bytes = 128;
inline constexpr std::size_t max_run_id_bytes = 128;
inline constexpr std::size_t max_source_bytes = 128;
inline constexpr std::size_t max_tenant_bytes = 128;
inline constexpr std::size_t max_sensitive_pointers = 64;
// Nesting depth of a whole leaf (the leaf object is depth 1, data depth 2). Requests are parsed
// with tighter limits, so this only bounds the readers' recursion.
inline constexpr int max_leaf_depth = 64;
// Length of an event time, "2026-11-21T10:00:00.123456Z".
inline constexpr std::size_t event_time_bytes = 27;

enum class ActorType { agent, human, system };
std::string_view actor_type_name(ActorType type);

// True if `kind` is a dotted lowercase name of at least two parts, each matching
// [a-z][a-z0-9_]*, of at most max_kind_bytes bytes (e.g. "decision.issued").
bool is_valid_kind(std::string_view kind);

// What auditd knows about a request apart from its body: the tenant it serves, the source it
// derived from SO_PEERCRED, and the tenant's salt for sensitive values.
struct EventContext {
  std::string_view tenant;
  std::string_view source;
  std::span<const std::uint8_t> salt;
};

// An event validated and canonicalised in the request thread: every member except index, prev
// and time is already in its final bytes, so composing the leaf on the commit thread is string
// concatenation. Guarantees that any composed leaf is at most max_leaf_bytes long, whatever the
// index (room for 20 digits is reserved).
class PreparedEvent {
public:
  // An upper bound of the composed leaf's length.
  std::size_t max_leaf_size() const;

  // Appends the leaf for this event at `index`, after the entry whose leaf hash is `prev`,
  // stamped `time` (event_time_bytes characters, see format_rfc3339_micros).
  void compose(std::string& out, std::uint64_t index, const Hash& prev, std::string_view time) const;
  std::string compose(std::uint64_t index, const Hash& prev, std::string_view time) const;

private:
  friend class EventBuilder;
  // The leaf without index, prev and time, in one allocation:
  //   {"actor":…,"data":…,"index":  ,"kind":"…","prev":"  ","run_id":…,"source":…,"tenant":…,"time":"
  //   ^ 0                           ^ m_middle             ^ m_tail
  std::string m_text;
  std::size_t m_middle = 0;
  std::size_t m_tail = 0;
};

// Validates one event as a client sends it in POST /v1/events:
//
//   {"kind": "tool.executed", "actor": {"type": "agent", "id": "support-bot"},
//    "run_id": "r-1" | null (optional), "data": {…} (optional, default {}),
//    "sensitive": ["/arguments/password", …] (optional)}
//
// Unknown members (including index, time, prev, tenant and source, which the ledger sets) fail
// with Errc::unknown_field; a wrong type, an empty or over-long string, a kind that is not a
// dotted name, or a bad JSON pointer fail with Errc::invalid_argument; a leaf that could exceed
// max_leaf_bytes fails with Errc::too_large.
//
// `data` may hold any JSON, floating-point numbers included: they are written in RFC 8785's
// ECMAScript form, so the stored bytes are canonical. (Unlike a decision's digested objects,
// data is recorded, not compared for equality, so there is no reason to refuse them.)
//
// `sensitive` lists RFC 6901 JSON pointers into `data`; each must name a string, which is
// replaced by "hmac-sha256:" + hex(HMAC-SHA256(context.salt, value)) before anything is stored,
// so an auditor who knows a value can check it but the ledger never holds it. A pointer that
// does not resolve, names a non-string, or repeats fails with Errc::invalid_argument.
Result<PreparedEvent> prepare_event(const Json& input, const EventContext& context);

// The same for an event read with JsonDocument: the same checks, the same errors and the same
// prepared bytes as for the parse_json tree of the same text, several times faster. POST
// /v1/events takes this path; the Json one serves events auditd builds itself.
Result<PreparedEvent> prepare_event(JsonValue input, const EventContext& context);

// A request body: one event object, or an array of 1..max_events of them (acknowledged
// together). Errors name the failing element ("event 3: …").
Result<std::vector<PreparedEvent>> prepare_events(const Json& body, const EventContext& context,
                                                  std::size_t max_events = 4096);
Result<std::vector<PreparedEvent>> prepare_events(JsonValue body, const EventContext& context,
                                                  std::size_t max_events = 4096);

// The members after "data" of a leaf, located without parsing "data". String views point into
// the leaf and hold the raw (escaped) JSON string contents, without quotes; comparing one with
// the canonical escaping of a value is comparing the values, since the escaping is canonical.
struct LeafFields {
  std::uint64_t index = 0;
  Hash prev{};
  std::string_view kind;
  std::optional<std::string_view> run_id; // nullopt for null
  std::string_view source;
  std::string_view tenant;
  std::string_view time;
};

// The fast path: finds the top-level "index" member by searching from the end (every member
// after it is a string or null, and a string cannot contain an unescaped quote, so the last
// `,"index":` is the top-level one) and parses strictly from there to the end. Does not look at
// actor or data. Errc::invalid_argument if the tail is not exactly the format's.
Result<LeafFields> extract_leaf_fields(std::string_view leaf);

// The fast path plus the head: the actor member in full and that data is an object that ends
// right before "index" (`{"actor":{"id":…,"type":…},"data":{` … `},"index":…`). Everything but
// the inside of data is checked, in about the time of extract_leaf_fields. The offline
// verifier's default, where the hash chain and the signed root already bind data's bytes.
Result<LeafFields> check_leaf_layout(std::string_view leaf);

// One forward pass over the whole leaf, without allocating: checks that it is a well-formed
// event in the format's member order (JSON syntax of actor and data, no whitespace, valid
// escapes and UTF-8 in strings, the actor type enum, the time layout, at most max_leaf_bytes)
// and returns the same fields as extract_leaf_fields. It does not check that data is in
// canonical form (member order, number form); parse_leaf does.
Result<LeafFields> check_leaf(std::string_view leaf);

struct Actor {
  ActorType type = ActorType::system;
  std::string id;
};

// A leaf parsed in full.
struct Event {
  std::uint64_t index = 0;
  std::string time;
  std::string tenant;
  std::string source;
  Actor actor;
  std::string kind;
  std::optional<std::string> run_id;
  Json data;
  Hash prev{};
};

// The thorough path: parses the leaf as JSON, checks the exact member set and every field's
// format (kind, actor, time as a real RFC 3339 instant, prev), and that the bytes are the
// canonical form of what they hold. Errc::invalid_argument names the first problem.
Result<Event> parse_leaf(std::string_view leaf);

} // namespace cordon::ledger

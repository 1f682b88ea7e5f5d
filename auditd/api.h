#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "auditd/ledger/hash.h"
#include "auditd/ledger/ledger.h"
#include "common/error.h"
#include "common/ipc/http.h"
#include "common/json.h"

// auditd's contract (DESIGN.md §7). On the Unix socket /run/cordon/auditd.sock:
//
//   POST /v1/events                       roles agentd, approvald, secretsd, admin
//     body: one event {"kind", "actor": {"type", "id"}, "run_id"?, "data"?, "sensitive"?}
//           or an array of 1..4096 of them (acknowledged together)
//     201:  {"index": N, "leaf_hash": "<hex>"}  or an array of those, in order
//     after the events are durable; 503 problem when the ledger cannot write.
//   GET /v1/events?from=&to=&kind=&run_id=&source=&limit=
//     200 application/jsonl: each stored leaf exactly as hashed, one per line; from inclusive
//     (default 0), to exclusive (default: the tree size); at most `limit` (default and maximum
//     10000) entries are examined, and header Cordon-Next-Index says where to continue.
//   GET /v1/checkpoint                    200 text/plain: the signed note of the current tree
//   GET /v1/verifier-key                  200 text/plain: name+hex8+base64
//   GET /v1/proof/inclusion?index=&size=  200 {"index", "size", "leaf_hash", "hashes": [base64]}
//   GET /v1/proof/consistency?old=&new=   200 {"old", "new", "hashes": [base64]}
//   GET /tile/<L>/<N>[.p/<W>], /tile/entries/<N>[.p/<W>]   C2SP tlog-tiles, octet-stream
//   GET /v1/status                        200 {"tenant", "size", "root", "checkpoint_size", "sinks"}
//
// Reads are for roles admin, approvald and auditor. The auditor HTTPS listener serves the same
// reads (role auditor) and nothing else: no write route exists there.
namespace cordon::auditd {

inline constexpr std::size_t max_events_per_request = 4096;
inline constexpr std::size_t max_events_page = 10000;
// A whole request may hold up to max_events_per_request events of up to 64 KiB each.
inline constexpr std::size_t max_request_body_bytes = std::size_t{16} << 20;

struct EventsQuery {
  std::uint64_t from = 0;
  std::uint64_t to = 0;
  std::size_t limit = max_events_page;
  ledger::EventFilter filter;
};

// Parses the query of GET /v1/events against the current tree size. Unknown parameters are
// Errc::unknown_field; non-decimal numbers, from > to, to beyond the tree, a limit outside
// 1..max_events_page and an empty kind, run_id or source are Errc::invalid_argument.
Result<EventsQuery> parse_events_query(const ipc::QueryMap& query, std::uint64_t tree_size);

struct InclusionQuery {
  std::uint64_t index = 0;
  std::uint64_t size = 0;
};
// index < size ≤ tree size, else Errc::invalid_argument.
Result<InclusionQuery> parse_inclusion_query(const ipc::QueryMap& query, std::uint64_t tree_size);

struct ConsistencyQuery {
  std::uint64_t old_size = 0;
  std::uint64_t new_size = 0;
};
// 0 < old ≤ new ≤ tree size, else Errc::invalid_argument.
Result<ConsistencyQuery> parse_consistency_query(const ipc::QueryMap& query, std::uint64_t tree_size);

Json ack_json(const ledger::Ack& ack);
// The 201 body of POST /v1/events: ack_json of the one ack, or for a batch an array of them,
// written without a JSON library (the same bytes as their dump()); this is the hot path.
std::string acks_body(std::span<const ledger::Ack> acks, bool batch);
Json hashes_json(std::span<const ledger::Hash> hashes);

} // namespace cordon::auditd

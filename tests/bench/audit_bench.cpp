// audit-bench: durable audit appends through a real cordon-auditd, against hash-chained INSERTs
// into a real PostgreSQL with synchronous_commit=on, plus the offline verifier against
// `openssl speed sha256` (DESIGN.md §10). Prints one JSON object on stdout; progress on stderr.
//
//   audit-bench [--quick] [--seconds N]
//
// Numbers are what this machine gives: clients and servers share its cores, nothing is tuned.
// Any failed request, refused ack or unverifiable ledger ends the run with exit status 1 and
// no JSON, so a broken path can never pass for a slow one.
#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <latch>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <sys/wait.h>
#include <libpq-fe.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "auditd/ledger/event.h"
#include "auditd/ledger/hash.h"
#include "auditd/ledger/ledger.h"
#include "auditd/ledger/verifier.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/ipc/unix_client.h"
#include "common/json.h"
#include "tests/bench/bench_util.h"
#include "tests/support/auditd_process.h"
#include "tests/support/postgres.h"
#include "tests/support/temp_dir.h"

namespace {

using namespace cordon;
namespace fs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;
using Report = nlohmann::ordered_json;

// How long and how much: the defaults give stable figures in well under three minutes; --quick
// only proves every path still works (the ctest smoke test).
struct Settings {
  bool quick = false;
  double seconds = 5.0;        // measured time of each throughput phase
  double warmup_seconds = 1.0; // before it: connections made, caches and queues warm
  std::uint64_t verify_ledger_bytes = std::uint64_t{256} << 20;
  int openssl_seconds = 2;
  int fdatasync_samples = 200;
};

constexpr std::size_t batch_size = 256;
constexpr unsigned batch_writers = 4;
constexpr std::size_t bodies_per_writer = 64;
constexpr int verify_repeats = 3;

void progress(std::string_view message) { fmt::print(stderr, "audit-bench: {}\n", message); }

double seconds_between(SteadyClock::time_point from, SteadyClock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

// ---------------------------------------------------------------------------------------------
// Events

// One realistic event as agentd or approvald would send it, 300-400 bytes, varied by writer and
// sequence number so that no two requests of a writer in a row are identical.
std::string event_body(unsigned writer, std::uint64_t sequence) {
  const auto run = fmt::format("run-{:02}-{:07}", writer, sequence / 16);
  if (sequence % 4 == 3) {
    return fmt::format(
        R"({{"kind":"decision.issued","actor":{{"type":"system","id":"cordon-agentd"}},"run_id":"{}",)"
        R"("data":{{"decision_id":"dec-{:02}-{:09}","policy":"support-tools/v14","rule":"crm.read.allowed",)"
        R"("effect":"allow","tool":"crm.lookup_customer","expires_at":"2026-11-21T10:05:00.000000Z",)"
        R"("proposal_sha256":"{:016x}{:016x}{:016x}{:016x}"}}}})",
        run, writer, sequence, sequence * 0x9e3779b97f4a7c15u, writer * 0xc2b2ae3d27d4eb4fu,
        ~sequence, sequence ^ 0x5bd1e995u);
  }
  return fmt::format(
      R"({{"kind":"tool.executed","actor":{{"type":"agent","id":"support-bot-{:02}"}},"run_id":"{}",)"
      R"("data":{{"tool":"crm.lookup_customer","decision_id":"dec-{:02}-{:09}",)"
      R"("arguments":{{"customer_id":"C-{:07}","fields":["name","plan","open_tickets","region"]}},)"
      R"("outcome":"ok","duration_ms":{},"bytes_returned":{},"lease_id":"lease-{:02}-{:06}","retries":0}}}})",
      writer, run, writer, sequence, (sequence * 7919u) % 10'000'000u, 3 + sequence % 97,
      512 + (sequence * 131u) % 8192, writer, sequence / 64);
}

std::vector<std::string> event_bodies(unsigned writer, std::size_t count, std::uint64_t first = 0) {
  std::vector<std::string> bodies;
  bodies.reserve(count);
  for (std::size_t i = 0; i < count; ++i) bodies.push_back(event_body(writer, first + i));
  return bodies;
}

std::string batch_body(unsigned writer, std::uint64_t first) {
  std::string body = "[";
  for (std::size_t i = 0; i < batch_size; ++i) {
    if (i > 0) body += ',';
    body += event_body(writer, first + i);
  }
  body += ']';
  return body;
}

// ---------------------------------------------------------------------------------------------
// The phase harness: N threads, each with its own writer (its own connection), start together,
// warm up, then count acknowledged events and per-request latencies inside the measured window.

struct PhaseWindow {
  SteadyClock::time_point measure_from;
  SteadyClock::time_point until;
};

struct WriterOutcome {
  std::uint64_t events = 0;       // acknowledged inside the window
  std::uint64_t all_events = 0;   // acknowledged at any time (warm-up and tail included)
  std::vector<std::int64_t> latencies_ns; // of the requests completed inside the window
  std::optional<Error> error;
};

struct PhaseResult {
  double seconds = 0;
  std::uint64_t events = 0;
  std::uint64_t requests = 0;
  std::uint64_t all_events = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  double max_ms = 0;
  double steal_pct = 0; // host steal over the phase, warm-up included (bench::StealMeter)

  double events_per_s() const { return seconds > 0 ? static_cast<double>(events) / seconds : 0; }
};

using bench::percentile_ms;

// A writer sends one request per write() and returns how many events the server acknowledged.
template <class Writer>
void drive_writer(Writer& writer, const PhaseWindow& window, WriterOutcome& outcome) {
  for (;;) {
    const auto begin = SteadyClock::now();
    if (begin >= window.until) return;
    auto acknowledged = writer.write();
    const auto end = SteadyClock::now();
    if (!acknowledged) {
      outcome.error = acknowledged.error();
      return;
    }
    outcome.all_events += *acknowledged;
    if (end >= window.measure_from && end < window.until) {
      outcome.events += *acknowledged;
      outcome.latencies_ns.push_back((end - begin).count());
    }
  }
}

// `make_writer(i)` runs on writer thread i before the start and returns
// Result<std::unique_ptr<Writer>>.
template <class MakeWriter>
Result<PhaseResult> run_phase(std::string_view name, unsigned threads, const Settings& settings,
                              std::size_t expected_requests_per_s, MakeWriter make_writer) {
  progress(fmt::format("{}: {} writers, {:.1f} s warm-up, {:.1f} s measured", name, threads,
                       settings.warmup_seconds, settings.seconds));
  std::vector<WriterOutcome> outcomes(threads);
  const auto capacity = static_cast<std::size_t>(settings.seconds * static_cast<double>(expected_requests_per_s) /
                                                 threads) + 1024;
  for (auto& outcome : outcomes) outcome.latencies_ns.reserve(capacity);

  const bench::StealMeter steal;
  PhaseWindow window;
  std::latch ready(threads);
  std::latch go(1);
  std::vector<std::thread> workers;
  workers.reserve(threads);
  for (unsigned i = 0; i < threads; ++i) {
    workers.emplace_back([&, i] {
      auto writer = make_writer(i);
      ready.count_down();
      go.wait();
      if (!writer) {
        outcomes[i].error = writer.error();
        return;
      }
      drive_writer(**writer, window, outcomes[i]);
    });
  }
  ready.wait();
  const auto start = SteadyClock::now();
  window.measure_from = start + std::chrono::duration_cast<SteadyClock::duration>(
                                    std::chrono::duration<double>(settings.warmup_seconds));
  window.until = window.measure_from + std::chrono::duration_cast<SteadyClock::duration>(
                                           std::chrono::duration<double>(settings.seconds));
  go.count_down();
  for (auto& worker : workers) worker.join();

  PhaseResult result;
  result.steal_pct = steal.percent();
  result.seconds = seconds_between(window.measure_from, window.until);
  std::vector<std::int64_t> latencies;
  for (auto& outcome : outcomes) {
    if (outcome.error) return fail(outcome.error->code, fmt::format("{}: {}", name, outcome.error->message));
    result.events += outcome.events;
    result.all_events += outcome.all_events;
    latencies.insert(latencies.end(), outcome.latencies_ns.begin(), outcome.latencies_ns.end());
  }
  result.requests = latencies.size();
  if (result.requests == 0) return fail(Errc::internal, fmt::format("{}: no request completed", name));
  result.max_ms = static_cast<double>(*std::max_element(latencies.begin(), latencies.end())) / 1e6;
  result.p99_ms = percentile_ms(latencies, 0.99);
  result.p50_ms = percentile_ms(latencies, 0.50);
  progress(fmt::format("{}: {:.0f} events/s, p50 {:.3f} ms, p99 {:.3f} ms", name, result.events_per_s(),
                       result.p50_ms, result.p99_ms));
  return result;
}

// ---------------------------------------------------------------------------------------------
// auditd

// The value after the last `"index":` of an ack body.
std::optional<std::uint64_t> last_index(std::string_view body) {
  constexpr std::string_view key = "\"index\":";
  const auto at = body.rfind(key);
  if (at == std::string_view::npos) return std::nullopt;
  std::uint64_t value = 0;
  const char* begin = body.data() + at + key.size();
  auto [end, error] = std::from_chars(begin, body.data() + body.size(), value);
  if (error != std::errc{} || end == begin) return std::nullopt;
  return value;
}

std::size_t count_of(std::string_view text, std::string_view needle) {
  std::size_t count = 0;
  for (auto at = text.find(needle); at != std::string_view::npos; at = text.find(needle, at + needle.size())) ++count;
  return count;
}

// One keep-alive connection to auditd posting prebuilt requests in turn. An answer counts only
// if it is 201 with one ack per event sent.
class AuditdWriter {
public:
  AuditdWriter(const std::string& socket, std::vector<std::string> bodies, std::size_t events_per_request,
               std::atomic<std::uint64_t>& highest_index)
      : m_client(socket), m_events_per_request(events_per_request), m_highest_index(highest_index) {
    m_requests.reserve(bodies.size());
    for (auto& body : bodies) {
      m_requests.push_back(ipc::ClientRequest{.method = ipc::Method::post,
                                              .target = "/v1/events",
                                              .body = std::move(body),
                                              .content_type = "application/json",
                                              .headers = {}});
    }
  }

  Result<std::size_t> write() {
    const auto& request = m_requests[m_next++ % m_requests.size()];
    auto response = m_client.request(request);
    if (!response) return tl::unexpected<Error>(response.error());
    if (response->status != 201) {
      return fail(Errc::internal, fmt::format("POST /v1/events answered {}: {}", response->status,
                                              response->body.substr(0, 300)));
    }
    const std::string_view body = response->body;
    const auto acks = m_events_per_request == 1 && body.starts_with('{') ? 1 : count_of(body, "\"index\":");
    const auto index = last_index(body);
    if (acks != m_events_per_request || !index) {
      return fail(Errc::internal, fmt::format("unexpected ack for {} events: {}", m_events_per_request,
                                              body.substr(0, 300)));
    }
    auto highest = m_highest_index.load(std::memory_order_relaxed);
    while (*index > highest && !m_highest_index.compare_exchange_weak(highest, *index, std::memory_order_relaxed)) {
    }
    return m_events_per_request;
  }

private:
  ipc::UnixClient m_client;
  std::vector<ipc::ClientRequest> m_requests;
  std::size_t m_next = 0;
  std::size_t m_events_per_request;
  std::atomic<std::uint64_t>& m_highest_index;
};

struct AuditdResults {
  PhaseResult w8;
  PhaseResult w64;
  PhaseResult batch;
  double event_bytes = 0; // mean request body of the one-event phases
  std::uint64_t acknowledged = 0;
  std::uint64_t highest_index = 0;
};

Result<AuditdResults> bench_auditd(const testing::AuditdProcess& auditd, const Settings& settings) {
  AuditdResults results;
  std::atomic<std::uint64_t> highest_index{0};
  const auto socket = auditd.socket_path();
  auto single = [&](unsigned i) {
    return std::make_unique<AuditdWriter>(socket, event_bodies(i, bodies_per_writer), 1, highest_index);
  };
  auto one_event_writer = [&](unsigned i) -> Result<std::unique_ptr<AuditdWriter>> { return single(i); };

  std::size_t body_bytes = 0;
  for (const auto& body : event_bodies(0, bodies_per_writer)) body_bytes += body.size();
  results.event_bytes = static_cast<double>(body_bytes) / bodies_per_writer;

  results.w8 = CORDON_TRY(run_phase("auditd w8", 8, settings, 60'000, one_event_writer));
  results.w64 = CORDON_TRY(run_phase("auditd w64", 64, settings, 100'000, one_event_writer));
  auto batch_writer = [&](unsigned i) -> Result<std::unique_ptr<AuditdWriter>> {
    std::vector<std::string> bodies;
    for (std::uint64_t b = 0; b < 4; ++b) bodies.push_back(batch_body(i, b * batch_size));
    return std::make_unique<AuditdWriter>(socket, std::move(bodies), batch_size, highest_index);
  };
  results.batch = CORDON_TRY(run_phase("auditd batch", batch_writers, settings, 4'000, batch_writer));
  results.acknowledged = results.w8.all_events + results.w64.all_events + results.batch.all_events;
  results.highest_index = highest_index.load();
  return results;
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

using PgConnection = std::unique_ptr<PGconn, decltype(&PQfinish)>;
using PgResult = std::unique_ptr<PGresult, decltype(&PQclear)>;

Result<PgConnection> pg_connect(const std::string& dsn) {
  PgConnection connection(PQconnectdb(dsn.c_str()), &PQfinish);
  if (!connection || PQstatus(connection.get()) != CONNECTION_OK) {
    return fail(Errc::unavailable,
                fmt::format("cannot connect to PostgreSQL: {}", connection ? PQerrorMessage(connection.get()) : "?"));
  }
  return connection;
}

Result<PgResult> pg_exec(PGconn* connection, const std::string& sql, ExecStatusType expected) {
  PgResult result(PQexec(connection, sql.c_str()), &PQclear);
  if (!result || PQresultStatus(result.get()) != expected) {
    return fail(Errc::io_error, fmt::format("{}: {}", sql, PQerrorMessage(connection)));
  }
  return result;
}

constexpr std::string_view pg_chain_model =
    "per-connection chains: each client keeps its own chain, computing leaf_hash = "
    "SHA-256(0x00 || leaf) client-side and sending prev = its previous leaf_hash (zeros first); "
    "the leaf is the request's event with index, prev and time added; one prepared "
    "INSERT ... RETURNING id per autocommit transaction (libpq, binary bytea parameters)";

// One client connection inserting the writer's events as a hash chain of its own.
class PostgresChainWriter {
public:
  static Result<std::unique_ptr<PostgresChainWriter>> connect(const std::string& dsn, unsigned writer) {
    auto connection = CORDON_TRY(pg_connect(dsn));
    PgResult prepared(PQprepare(connection.get(), "append",
                                "INSERT INTO events(leaf, prev, leaf_hash) VALUES ($1, $2, $3) RETURNING id",
                                3, nullptr),
                      &PQclear);
    if (!prepared || PQresultStatus(prepared.get()) != PGRES_COMMAND_OK) {
      return fail(Errc::io_error, fmt::format("PREPARE: {}", PQerrorMessage(connection.get())));
    }
    return std::unique_ptr<PostgresChainWriter>(new PostgresChainWriter(std::move(connection), writer));
  }

  Result<std::size_t> write() {
    const auto& body = m_bodies[m_sequence % m_bodies.size()];
    m_leaf.assign(body, 0, body.size() - 1); // without the closing brace
    m_leaf += fmt::format(R"(,"index":{},"prev":")", m_sequence);
    const auto prev_at = m_leaf.size();
    m_leaf.append(64, '0');
    ledger::hash_to_hex(m_prev, m_leaf.data() + prev_at);
    m_leaf += R"(","time":")";
    m_leaf += format_rfc3339_micros(std::chrono::system_clock::now());
    m_leaf += "\"}";
    const auto hash = ledger::leaf_hash(m_leaf);

    const std::array<const char*, 3> values{m_leaf.c_str(), reinterpret_cast<const char*>(m_prev.data()),
                                           reinterpret_cast<const char*>(hash.data())};
    const std::array<int, 3> lengths{static_cast<int>(m_leaf.size()), 32, 32};
    const std::array<int, 3> formats{0, 1, 1};
    PgResult result(PQexecPrepared(m_connection.get(), "append", 3, values.data(), lengths.data(), formats.data(), 0),
                    &PQclear);
    if (!result || PQresultStatus(result.get()) != PGRES_TUPLES_OK || PQntuples(result.get()) != 1) {
      return fail(Errc::io_error, fmt::format("INSERT: {}", PQerrorMessage(m_connection.get())));
    }
    m_prev = hash;
    ++m_sequence;
    return 1;
  }

private:
  PostgresChainWriter(PgConnection connection, unsigned writer)
      : m_connection(std::move(connection)), m_bodies(event_bodies(writer, bodies_per_writer)) {
    m_leaf.reserve(1024);
  }

  PgConnection m_connection;
  std::vector<std::string> m_bodies;
  std::string m_leaf;
  ledger::Hash m_prev = ledger::zero_hash;
  std::uint64_t m_sequence = 0;
};

struct PostgresResults {
  PhaseResult w8;
  PhaseResult w64;
  Report settings;
};

Result<Report> pg_settings(const std::string& dsn) {
  auto connection = CORDON_TRY(pg_connect(dsn));
  Report settings;
  for (const char* name : {"server_version", "fsync", "synchronous_commit", "wal_sync_method", "full_page_writes"}) {
    auto result = CORDON_TRY(pg_exec(connection.get(), fmt::format("SHOW {}", name), PGRES_TUPLES_OK));
    settings[name] = PQgetvalue(result.get(), 0, 0);
  }
  return settings;
}


Result<PostgresResults> bench_postgres(const Settings& settings) {
  progress("starting PostgreSQL (initdb)");
  auto server = CORDON_TRY(testing::TempPostgres::create());
  const auto dsn = server->dsn();
  {
    auto connection = CORDON_TRY(pg_connect(dsn));
    CORDON_TRY(pg_exec(connection.get(),
                       "CREATE TABLE events(id bigserial PRIMARY KEY, leaf text NOT NULL, "
                       "prev bytea NOT NULL, leaf_hash bytea NOT NULL)",
                       PGRES_COMMAND_OK));
  }
  PostgresResults results;
  results.settings = CORDON_TRY(pg_settings(dsn));
  auto writer = [&](unsigned i) { return PostgresChainWriter::connect(dsn, i); };
  results.w8 = CORDON_TRY(run_phase("postgres w8", 8, settings, 40'000, writer));
  results.w64 = CORDON_TRY(run_phase("postgres w64", 64, settings, 40'000, writer));
  return results;
}

// ---------------------------------------------------------------------------------------------
// Ledger verification

struct LedgerFiles {
  std::vector<fs::path> files; // seg-*.jsonl in index order
  std::uint64_t bytes = 0;
};

Result<LedgerFiles> segment_files(const fs::path& directory) {
  LedgerFiles found;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(directory, error)) {
    const auto name = entry.path().filename().string();
    if (!name.starts_with("seg-") || !name.ends_with(".jsonl")) continue;
    found.files.push_back(entry.path());
    found.bytes += entry.file_size();
  }
  if (error) return fail(Errc::io_error, fmt::format("cannot list {}: {}", directory.string(), error.message()));
  // Segment names carry their first index in 16 digits, so name order is index order.
  std::sort(found.files.begin(), found.files.end());
  return found;
}

// Writes a ledger of at least `bytes` bytes with ledger::Ledger itself (the daemon's code path
// without HTTP), in batches of 4096 events; returns its entry count.
Result<std::uint64_t> write_synthetic_ledger(const fs::path& directory, std::uint64_t bytes) {
  ledger::LedgerOptions options;
  options.tenant = "bench";
  options.salt = std::vector<std::uint8_t>(32, 0x5a);
  auto ledger = CORDON_TRY(ledger::Ledger::open(directory, std::move(options)));
  const std::string source = "agentd";
  const auto context = ledger->context(source);
  std::vector<ledger::PreparedEvent> prepared;
  for (const auto& body : event_bodies(0, 1024)) {
    auto json = CORDON_TRY(parse_json(body));
    prepared.push_back(CORDON_TRY(ledger::prepare_event(json, context)));
  }
  constexpr std::size_t events_per_batch = 4096;
  std::uint64_t entries = 0;
  for (;;) {
    const auto files = CORDON_TRY(segment_files(directory));
    if (files.bytes >= bytes) break;
    std::vector<ledger::PreparedEvent> batch;
    batch.reserve(events_per_batch);
    for (std::size_t i = 0; i < events_per_batch; ++i) batch.push_back(prepared[(entries + i) % prepared.size()]);
    auto acks = CORDON_TRY(ledger->append_and_wait(std::move(batch)));
    entries += acks.size();
  }
  return entries;
}

struct VerifyResult {
  double best_bytes_per_s = 0;
  std::uint64_t entries = 0;
  std::uint64_t bytes = 0;
  std::size_t files = 0;
};

// Runs the offline verifier (default options: chain, tree, leaf layout; one hashing thread per
// core) `repeats` times and keeps the best rate. Fails unless every entry verifies.
Result<VerifyResult> verify_ledger(const LedgerFiles& files, int repeats) {
  VerifyResult result;
  result.bytes = files.bytes;
  result.files = files.files.size();
  for (int i = 0; i < repeats; ++i) {
    const auto start = SteadyClock::now();
    auto report = CORDON_TRY(ledger::verify_jsonl_files(files.files, ledger::VerifyOptions{}));
    const auto elapsed = seconds_between(start, SteadyClock::now());
    if (!report.ok()) {
      return fail(Errc::integrity, fmt::format("ledger does not verify at {}: {}", report.failure->index,
                                               report.failure->reason));
    }
    result.entries = report.entries;
    result.best_bytes_per_s = std::max(result.best_bytes_per_s, static_cast<double>(files.bytes) / elapsed);
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Reference figures: the disk's sync latency and OpenSSL's own SHA-256 rate.

Result<double> fdatasync_median_ms(const fs::path& directory, int samples) {
  const auto path = directory / "fdatasync.probe";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return fail(Errc::io_error, fmt::format("cannot create {}: {}", path.string(), std::strerror(errno)));
  const std::vector<char> block(4096, 'x');
  std::vector<std::int64_t> latencies;
  latencies.reserve(static_cast<std::size_t>(samples));
  for (int i = 0; i < samples; ++i) {
    const auto start = SteadyClock::now();
    if (::write(fd, block.data(), block.size()) != static_cast<ssize_t>(block.size()) || ::fdatasync(fd) != 0) {
      const auto message = fmt::format("write+fdatasync {}: {}", path.string(), std::strerror(errno));
      ::close(fd);
      return fail(Errc::io_error, message);
    }
    latencies.push_back((SteadyClock::now() - start).count());
  }
  ::close(fd);
  return percentile_ms(latencies, 0.5);
}

// Bytes per second from `openssl speed -seconds S -bytes B sha256`, whose last line reads
// "sha256   1777390.93k" (in 1000s of bytes per second).
Result<double> openssl_sha256_rate(int seconds, int block_bytes) {
  const auto command = fmt::format("openssl speed -seconds {} -bytes {} sha256 2>/dev/null", seconds, block_bytes);
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return fail(Errc::io_error, "cannot run: " + command);
  std::string output;
  std::array<char, 4096> buffer{};
  while (const auto got = std::fread(buffer.data(), 1, buffer.size(), pipe)) output.append(buffer.data(), got);
  if (::pclose(pipe) != 0) return fail(Errc::io_error, fmt::format("`{}` failed: {}", command, output));
  while (!output.empty() && (output.back() == '\n' || output.back() == ' ')) output.pop_back();
  const std::string_view line = std::string_view(output).substr(output.rfind('\n') + 1);
  const auto token_at = line.find_last_of(" \t");
  const std::string_view token = token_at == std::string_view::npos ? line : line.substr(token_at + 1);
  double thousands = 0;
  auto [end, error] = std::from_chars(token.data(), token.data() + token.size(), thousands);
  if (!line.starts_with("sha256") || error != std::errc{} || end == token.data() || std::string_view(end, 1) != "k") {
    return fail(Errc::io_error, fmt::format("cannot parse `{}` output: {}", command, line));
  }
  return thousands * 1000;
}

Report machine() {
  Report out;
  out["cores"] = std::thread::hardware_concurrency();
  utsname name{};
  out["kernel"] = ::uname(&name) == 0 ? std::string(name.release) : std::string("unknown");
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.starts_with("model name")) {
      out["cpu"] = line.substr(line.find(':') + 2);
      break;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

double ratio(double a, double b) { return b > 0 ? a / b : 0; }
using bench::round_to;

Report phase_json(const PhaseResult& phase) {
  Report out;
  out["events"] = phase.events;
  out["requests"] = phase.requests;
  out["seconds"] = round_to(phase.seconds, 3);
  out["max_ms"] = round_to(phase.max_ms, 3);
  out["host_steal_pct"] = phase.steal_pct;
  return out;
}

Result<Report> run(const Settings& settings) {
  const bench::StealMeter steal;
  Report report;
  report["benchmark"] = "audit-bench";
  report["quick"] = settings.quick;
  report["seconds"] = settings.seconds;
  report["warmup_seconds"] = settings.warmup_seconds;

  testing::TempDir scratch("cab");
  const double fdatasync_ms = CORDON_TRY(fdatasync_median_ms(scratch.path(), settings.fdatasync_samples));
  progress(fmt::format("fdatasync of a 4 KiB append: median {:.3f} ms", fdatasync_ms));

  testing::AuditdProcessOptions options;
  options.directory = scratch.path() / "auditd";
  fs::create_directories(options.directory);
  testing::AuditdProcess auditd(options);
  progress("starting cordon-auditd");
  CORDON_TRY_VOID(auditd.start());
  const auto audit = CORDON_TRY(bench_auditd(auditd, settings));
  const int exit_status = auditd.stop(SIGTERM);
  if (!WIFEXITED(exit_status) || WEXITSTATUS(exit_status) != 0) {
    return fail(Errc::internal, "cordon-auditd did not stop cleanly: " + auditd.log_tail());
  }
  progress("verifying the daemon's ledger");
  const auto daemon_segments = CORDON_TRY(segment_files(auditd.ledger_dir()));
  const auto daemon_ledger = CORDON_TRY(verify_ledger(daemon_segments, 1));
  if (daemon_ledger.entries < audit.acknowledged || daemon_ledger.entries <= audit.highest_index) {
    return fail(Errc::integrity, fmt::format("the daemon's ledger holds {} entries, but {} were acknowledged (highest "
                                             "index {})",
                                             daemon_ledger.entries, audit.acknowledged, audit.highest_index));
  }

  const auto postgres = CORDON_TRY(bench_postgres(settings));

  progress(fmt::format("writing a {} MiB ledger with ledger::Ledger", settings.verify_ledger_bytes >> 20));
  const auto synthetic_dir = scratch.path() / "synthetic";
  const auto synthetic_entries = CORDON_TRY(write_synthetic_ledger(synthetic_dir, settings.verify_ledger_bytes));
  progress(fmt::format("verifying it, best of {}", verify_repeats));
  const auto synthetic_segments = CORDON_TRY(segment_files(synthetic_dir));
  const auto verified = CORDON_TRY(verify_ledger(synthetic_segments, verify_repeats));
  if (verified.entries != synthetic_entries) {
    return fail(Errc::integrity, fmt::format("verified {} entries of {}", verified.entries, synthetic_entries));
  }
  progress("openssl speed sha256");
  const double openssl_16k = CORDON_TRY(openssl_sha256_rate(settings.openssl_seconds, 16384));
  const double openssl_1k = CORDON_TRY(openssl_sha256_rate(settings.openssl_seconds, 1024));

  const auto& w8 = audit.w8;
  const auto& w64 = audit.w64;
  report["event_bytes"] = round_to(audit.event_bytes, 1);
  report["w8_events_per_s"] = std::round(w8.events_per_s());
  report["w8_p50_ms"] = round_to(w8.p50_ms, 3);
  report["w8_p99_ms"] = round_to(w8.p99_ms, 3);
  report["w64_events_per_s"] = std::round(w64.events_per_s());
  report["w64_p50_ms"] = round_to(w64.p50_ms, 3);
  report["w64_p99_ms"] = round_to(w64.p99_ms, 3);
  report["batch_events_per_s"] = std::round(audit.batch.events_per_s());
  report["batch_size"] = batch_size;
  report["batch_writers"] = batch_writers;
  report["batch_p50_ms"] = round_to(audit.batch.p50_ms, 3);
  report["batch_p99_ms"] = round_to(audit.batch.p99_ms, 3);
  report["pg_w8_events_per_s"] = std::round(postgres.w8.events_per_s());
  report["pg_w8_p50_ms"] = round_to(postgres.w8.p50_ms, 3);
  report["pg_w8_p99_ms"] = round_to(postgres.w8.p99_ms, 3);
  report["pg_w64_events_per_s"] = std::round(postgres.w64.events_per_s());
  report["pg_w64_p50_ms"] = round_to(postgres.w64.p50_ms, 3);
  report["pg_w64_p99_ms"] = round_to(postgres.w64.p99_ms, 3);
  report["pg_chain_model"] = pg_chain_model;
  report["pg_settings"] = postgres.settings;
  report["w8_vs_pg"] = round_to(ratio(w8.events_per_s(), postgres.w8.events_per_s()), 2);
  report["w64_vs_pg"] = round_to(ratio(w64.events_per_s(), postgres.w64.events_per_s()), 2);
  report["verify_bytes_per_s"] = std::round(verified.best_bytes_per_s);
  report["verify_ledger"] = Report{{"bytes", verified.bytes}, {"entries", verified.entries}, {"files", verified.files},
                                   {"repeats", verify_repeats}, {"source", "ledger::Ledger, synthetic"}};
  report["openssl_sha256_bytes_per_s"] = std::round(openssl_16k);
  report["openssl_sha256_bytes_per_s_1024"] = std::round(openssl_1k);
  report["verify_vs_openssl"] = round_to(ratio(verified.best_bytes_per_s, openssl_16k), 2);
  report["fdatasync_ms"] = round_to(fdatasync_ms, 3);
  report["daemon_ledger"] = Report{{"entries", daemon_ledger.entries},
                                   {"bytes", daemon_ledger.bytes},
                                   {"acknowledged_by_bench", audit.acknowledged},
                                   {"verified", true},
                                   {"verify_bytes_per_s", std::round(daemon_ledger.best_bytes_per_s)}};
  report["phases"] = Report{{"w8", phase_json(w8)},
                            {"w64", phase_json(w64)},
                            {"batch", phase_json(audit.batch)},
                            {"pg_w8", phase_json(postgres.w8)},
                            {"pg_w64", phase_json(postgres.w64)}};
  report["targets"] = Report{
      {"w8_ge_25000_and_2x_pg", w8.events_per_s() >= 25'000 && w8.events_per_s() >= 2 * postgres.w8.events_per_s()},
      {"w64_ge_50000_and_3x_pg", w64.events_per_s() >= 50'000 && w64.events_per_s() >= 3 * postgres.w64.events_per_s()},
      {"w8_p99_le_5ms", w8.p99_ms <= 5.0},
      {"w64_p99_le_5ms", w64.p99_ms <= 5.0},
      {"batch_ge_200000", audit.batch.events_per_s() >= 200'000},
      {"verify_ge_70pct_openssl", verified.best_bytes_per_s >= 0.7 * openssl_16k}};
  report["machine"] = machine();
  report["host_steal_pct"] = steal.percent();
  report["notes"] = "one keep-alive Unix-socket connection per writer thread, one event per request "
                    "(batch: 256), counted only on a durable 201 ack; client threads, auditd and "
                    "PostgreSQL share the machine's cores";
  return report;
}

constexpr std::string_view usage =
    "usage: audit-bench [--quick] [--seconds N]\n"
    "  --quick      tiny durations and sizes: checks that every path works (ctest smoke test)\n"
    "  --seconds N  measured seconds of each throughput phase (default 5)\n";

Result<Settings> parse_arguments(int argc, char** argv) {
  Settings settings;
  std::optional<double> seconds;
  for (int i = 1; i < argc; ++i) {
    const std::string_view argument = argv[i];
    if (argument == "--quick") {
      settings.quick = true;
    } else if (argument == "--seconds" && i + 1 < argc) {
      const std::string_view value = argv[++i];
      double parsed = 0;
      auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), parsed);
      if (error != std::errc{} || end != value.data() + value.size() || !(parsed > 0) || parsed > 600) {
        return fail(Errc::invalid_argument, fmt::format("--seconds wants a number in (0, 600], not \"{}\"", value));
      }
      seconds = parsed;
    } else {
      return fail(Errc::invalid_argument, fmt::format("unknown argument \"{}\"", argument));
    }
  }
  if (settings.quick) {
    settings.seconds = 0.3;
    settings.warmup_seconds = 0.1;
    settings.verify_ledger_bytes = std::uint64_t{4} << 20;
    settings.openssl_seconds = 1;
    settings.fdatasync_samples = 20;
  }
  if (seconds) settings.seconds = *seconds;
  return settings;
}

} // namespace

int main(int argc, char** argv) {
  const auto settings = parse_arguments(argc, argv);
  if (!settings) {
    fmt::print(stderr, "audit-bench: {}\n{}", settings.error().message, usage);
    return 2;
  }
  try {
    const auto report = run(*settings);
    if (!report) {
      fmt::print(stderr, "audit-bench: failed ({}): {}\n", errc_name(report.error().code), report.error().message);
      return 1;
    }
    fmt::print("{}\n", report->dump(2));
    return 0;
  } catch (const std::exception& error) {
    fmt::print(stderr, "audit-bench: failed: {}\n", error.what());
    return 1;
  }
}

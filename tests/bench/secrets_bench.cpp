// secrets-bench: secretsd's leases and signing oracle end to end (DESIGN.md §10), beside
// `openssl speed ed25519` in the same run. Prints one JSON object on stdout; progress on stderr.
//
//   secrets-bench [--quick]
//
// A real auditd and secretsd (development key-file custody: the KEK is read once at start-up,
// so custody does not enter these figures) on this machine. Each lease is a POST /v1/leases with
// a fresh decision packet, so every one includes packet verification (Ed25519, digest, expiry),
// a durable single-use nonce, decryption, and a durable lease.issued audit event. Packets are
// signed beforehand through the oracle; that phase gives sign_per_s (POST /v1/sign with the
// decision key, durable key.signed event included).
#include <atomic>
#include <charconv>
#include <iostream>
#include <thread>

#include "common/clock.h"
#include "common/crypto.h"
#include "common/decision/decision_packet.h"
#include "common/encoding.h"
#include "common/ipc/unix_client.h"
#include "common/json.h"
#include "tests/bench/bench_util.h"
#include "tests/support/auditd_process.h"
#include "tests/support/secretsd_process.h"
#include "tests/support/temp_dir.h"

using namespace cordon;
using SteadyClock = std::chrono::steady_clock;

namespace {

void progress(const std::string& text) { std::cerr << "secrets-bench: " << text << std::endl; }

const Json action = {{"tool", "http.request"}, {"tool_pin", "sha256:01"},
                     {"arguments", {{"url", "https://api.example.com/v1/items"}}}, {"target", nullptr}};

Result<std::string> sign_request_body(const std::string& tenant) {
  const auto now = std::chrono::system_clock::now();
  const Json decision = {{"id", "d-" + to_hex(CORDON_TRY(crypto::random_bytes(8)))}, {"tenant", tenant},
                         {"action_digest", CORDON_TRY(decision::action_digest(tenant, action))},
                         {"verdict", "allow"}, {"mode", "live"}, {"rules", {"allow-http"}},
                         {"policy_version", "sha256:00"}, {"approval", nullptr},
                         {"issued_at", format_rfc3339_micros(now)},
                         {"expires_at", format_rfc3339_micros(now + std::chrono::minutes(10))},
                         {"nonce", to_hex(CORDON_TRY(crypto::random_bytes(16)))}};
  const auto message = CORDON_TRY(decision::decision_signing_bytes(decision));
  return Json{{"decision", decision}, {"message_base64", to_base64(as_bytes(message))}}.dump();
}

// Signatures per second from `openssl speed -seconds S ed25519`, whose last line reads
// " 253 bits EdDSA (Ed25519)   0.0000s   0.0001s  21276.0   8206.2" (sign/s, verify/s).
Result<double> openssl_ed25519_sign_rate(int seconds) {
  auto output = CORDON_TRY(bench::command_output("openssl speed -seconds " + std::to_string(seconds) + " ed25519 2>/dev/null"));
  while (!output.empty() && (output.back() == '\n' || output.back() == ' ')) output.pop_back();
  const std::string_view line = std::string_view(output).substr(output.rfind('\n') + 1);
  if (line.find("Ed25519") == std::string_view::npos) return fail(Errc::io_error, "cannot parse openssl speed: " + std::string(line));
  // The second-to-last field is sign/s.
  const auto last = line.find_last_of(' ');
  const auto before = line.find_last_not_of(' ', last);
  const auto start = line.find_last_of(' ', before) + 1;
  double rate = 0;
  auto [end, error] = std::from_chars(line.data() + start, line.data() + before + 1, rate);
  if (error != std::errc{} || rate <= 0) return fail(Errc::io_error, "cannot parse openssl speed: " + std::string(line));
  return rate;
}

Result<Json> run(bool quick) {
  const bench::StealMeter steal;
  const std::size_t lease_count = quick ? 200 : 4000;
  const int clients = 4;
  testing::TempDir directory("cordon-sb");
  testing::AuditdProcessOptions audit_options;
  audit_options.directory = directory.path();
  testing::AuditdProcess auditd(audit_options);
  CORDON_TRY_VOID(auditd.start());
  testing::SecretsdProcessOptions options;
  options.directory = directory.path();
  options.audit_socket = auditd.socket_path();
  testing::SecretsdProcess secretsd(options);
  CORDON_TRY_VOID(secretsd.start());

  ipc::UnixClient admin(secretsd.socket_path());
  const Json secret = {{"value_base64", to_base64(as_bytes(std::string("bench-credential-value")))}, {"tools", {"http.request"}}};
  auto put = CORDON_TRY(admin.request(ipc::Method::put, "/v1/secrets/bench-key", secret.dump()));
  if (put.status != 201) return fail(Errc::io_error, "cannot store the secret: " + put.body);

  progress("signing " + std::to_string(2 * lease_count) + " decisions through the oracle (" + std::to_string(clients) + " clients)");
  std::vector<Json> decisions;
  std::vector<std::string> sign_bodies;
  for (std::size_t i = 0; i < 2 * lease_count; ++i) {
    auto body = CORDON_TRY(sign_request_body(options.tenant));
    auto parsed = CORDON_TRY(parse_json(body));
    decisions.push_back(parsed["decision"]);
    parsed.erase("decision");
    parsed["key"] = "decision";
    sign_bodies.push_back(parsed.dump());
  }
  auto signing = CORDON_TRY(bench::run_posts(secretsd.socket_path(), "/v1/sign", sign_bodies, clients, 200));
  std::vector<std::string> lease_bodies;
  for (std::size_t i = 0; i < decisions.size(); ++i) {
    const auto signature = CORDON_TRY(parse_json(signing.outputs[i]));
    const Json packet = {{"decision", decisions[i]}, {"signature", signature["signature"]}, {"key_id", signature["key_id"]}};
    lease_bodies.push_back(Json{{"packet", packet}, {"action", action}, {"secret", "bench-key"}, {"run_id", "r-bench"}}.dump());
  }
  const std::vector<std::string> sequential(lease_bodies.begin(), lease_bodies.begin() + static_cast<std::ptrdiff_t>(lease_count));
  const std::vector<std::string> concurrent(lease_bodies.begin() + static_cast<std::ptrdiff_t>(lease_count), lease_bodies.end());

  progress("leases, one client, " + std::to_string(sequential.size()) + " requests");
  auto latency = CORDON_TRY(bench::run_posts(secretsd.socket_path(), "/v1/leases", sequential, 1, 201));
  progress("leases, " + std::to_string(clients) + " clients, " + std::to_string(concurrent.size()) + " requests");
  auto throughput = CORDON_TRY(bench::run_posts(secretsd.socket_path(), "/v1/leases", concurrent, clients, 201));
  progress("openssl speed ed25519");
  const double openssl_rate = CORDON_TRY(openssl_ed25519_sign_rate(quick ? 1 : 3));

  const double sign_per_s = static_cast<double>(sign_bodies.size()) / signing.seconds;
  Json report;
  report["benchmark"] = "secrets-bench";
  report["quick"] = quick;
  report["lease_p50_ms"] = bench::round_to(bench::percentile_ms(latency.latencies, 0.50), 3);
  report["lease_p99_ms"] = bench::round_to(bench::percentile_ms(latency.latencies, 0.99), 3);
  report["lease_p95_ms"] = bench::round_to(bench::percentile_ms(latency.latencies, 0.95), 3);
  report["lease_max_ms"] = bench::round_to(bench::percentile_ms(latency.latencies, 1.0), 3);
  report["leases_per_s"] = std::round(static_cast<double>(concurrent.size()) / throughput.seconds);
  report["lease_concurrent_p99_ms"] = bench::round_to(bench::percentile_ms(throughput.latencies, 0.99), 3);
  report["sign_per_s"] = std::round(sign_per_s);
  report["openssl_ed25519_sign_per_s"] = std::round(openssl_rate);
  report["sign_vs_openssl"] = bench::round_to(sign_per_s / openssl_rate, 3);
  report["clients"] = clients;
  report["kek_custody"] = "key_file";
  report["notes"] = "leases and signatures each include a durable audit event in a real auditd (group-committed "
                    "fdatasync); sign_per_s is the oracle over its Unix socket, openssl's rate is the bare primitive "
                    "in one process";
  report["targets"] = {{"lease_p99_le_2ms", report["lease_p99_ms"].get<double>() <= 2.0}};
  report["machine"] = bench::machine_json();
  report["host_steal_pct"] = steal.percent();
  return report;
}

} // namespace

int main(int argc, char** argv) { return bench::quick_bench_main(argc, argv, "secrets-bench", run); }

#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include <sys/utsname.h>

#include "common/error.h"
#include "common/ipc/unix_client.h"
#include "common/json.h"

// Small helpers the benchmarks share.
namespace cordon::bench {

// Nearest-rank percentile of nanosecond samples, in milliseconds; reorders `values`.
inline double percentile_ms(std::vector<std::int64_t>& values, double fraction) {
  if (values.empty()) return 0;
  auto rank = static_cast<std::size_t>(std::ceil(fraction * static_cast<double>(values.size())));
  rank = std::clamp<std::size_t>(rank, 1, values.size()) - 1;
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(rank), values.end());
  return static_cast<double>(values[rank]) / 1e6;
}

// `value` rounded to `digits` decimal places, for reports people read.
inline double round_to(double value, int digits) {
  const double scale = std::pow(10.0, digits);
  return std::round(value * scale) / scale;
}

// {"cores", "kernel"}: what a report says about the machine it ran on.
inline Json machine_json() {
  utsname name{};
  return {{"cores", std::thread::hardware_concurrency()},
          {"kernel", ::uname(&name) == 0 ? std::string(name.release) : std::string("unknown")}};
}

// CPU time the hypervisor gave to other guests while this one's vCPUs wanted it ("steal", the
// eighth figure of /proc/stat's "cpu" line), read at the start of an interval. On a shared VM a
// run's latencies rise with it: a lease took 0.95 ms at p50 in a run with no steal and 2.1 ms in
// one that lost a third of a CPU to it, on the same build. So every report says how much of its
// measured time was stolen, and figures from a run with more than a few per cent are the host's.
class StealMeter {
public:
  StealMeter() : m_start(read()) {}
  // Steal as a percentage of all CPU time (every CPU, idle included) since construction or the
  // last restart(); 0 where /proc/stat has no steal figure.
  double percent() const {
    const Times now = read();
    const double total = static_cast<double>(now.total - m_start.total);
    return total > 0 ? round_to(100.0 * static_cast<double>(now.steal - m_start.steal) / total, 2) : 0;
  }
  void restart() { m_start = read(); }

private:
  struct Times {
    std::uint64_t steal = 0;
    std::uint64_t total = 0;
  };
  static Times read() {
    Times times;
    FILE* file = std::fopen("/proc/stat", "r");
    if (file == nullptr) return times;
    // cpu user nice system idle iowait irq softirq steal guest guest_nice
    unsigned long long fields[8] = {};
    if (std::fscanf(file, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &fields[0], &fields[1], &fields[2],
                    &fields[3], &fields[4], &fields[5], &fields[6], &fields[7]) == 8) {
      for (const auto field : fields) times.total += field;
      times.steal = fields[7];
    }
    std::fclose(file);
    return times;
  }
  Times m_start;
};

// The standard output of a shell command that must exit 0.
inline Result<std::string> command_output(const std::string& command) {
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return fail(Errc::io_error, "cannot run: " + command);
  std::string output;
  std::array<char, 4096> buffer{};
  while (const auto got = std::fread(buffer.data(), 1, buffer.size(), pipe)) output.append(buffer.data(), got);
  if (::pclose(pipe) != 0) return fail(Errc::io_error, "`" + command + "` failed: " + output);
  return output;
}

// The answers and latencies of one phase of POSTs.
struct Phase {
  double seconds = 0;
  std::vector<std::int64_t> latencies;
  std::vector<std::string> outputs;
};

// Runs `bodies` through POST `target` on `clients` connections; every answer must be `status`.
inline Result<Phase> run_posts(const std::string& socket, const std::string& target, const std::vector<std::string>& bodies,
                        int clients, int status) {
  Phase phase;
  phase.latencies.resize(bodies.size());
  phase.outputs.resize(bodies.size());
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  std::string failure;
  std::mutex failure_mutex;
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&] {
      ipc::UnixClient client(socket);
      for (std::size_t i = next++; i < bodies.size() && !failed; i = next++) {
        const auto begin = std::chrono::steady_clock::now();
        auto response = client.post(target, bodies[i]);
        phase.latencies[i] = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - begin).count();
        if (!response || response->status != status) {
          std::lock_guard lock(failure_mutex);
          failure = response ? std::to_string(response->status) + " " + response->body : response.error().message;
          failed = true;
          return;
        }
        phase.outputs[i] = std::move(response->body);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  phase.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (failed) return fail(Errc::io_error, target + " failed: " + failure);
  return phase;
}

// The main of a benchmark whose only option is --quick: prints run(quick)'s report as JSON on
// stdout, or the error on stderr (exit 1); a usage error is exit 2.
inline int quick_bench_main(int argc, char** argv, const std::string& name, Result<Json> (*run)(bool quick)) {
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) != "--quick") {
      std::fprintf(stderr, "usage: %s [--quick]\n", name.c_str());
      return 2;
    }
    quick = true;
  }
  auto report = run(quick);
  if (!report) {
    std::fprintf(stderr, "%s: %s\n", name.c_str(), report.error().message.c_str());
    return 1;
  }
  std::printf("%s\n", report->dump(2).c_str());
  return 0;
}

} // namespace cordon::bench

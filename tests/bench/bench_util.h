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

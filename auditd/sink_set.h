#pragma once

#include <atomic>
#include <memory>
#include <vector>

#include "auditd/auditd_config.h"
#include "auditd/ledger/ledger.h"
#include "auditd/sinks/sink_runner.h"
#include "common/json.h"

namespace cordon::auditd {

// The configured sinks, each copying the ledger on its own thread (auditd/sinks/sink_runner.h).
// notify() is what the ledger's commit callback calls: it never waits on a sink.
class SinkSet {
public:
  SinkSet() = default;
  ~SinkSet();
  SinkSet(const SinkSet&) = delete;
  SinkSet& operator=(const SinkSet&) = delete;

  // Starts one runner per configured sink, reading from `ledger`.
  void start(const std::vector<SinkConfig>& sinks, const std::string& tenant,
             const ledger::Ledger& ledger);
  void notify(std::uint64_t size) noexcept;
  Json status() const;
  void stop();

private:
  std::vector<std::unique_ptr<audit::SinkRunner>> m_runners;
  std::atomic<bool> m_started{false};
};

} // namespace cordon::auditd

#include "auditd/sink_set.h"

#include "auditd/ledger/hash.h"
#include "auditd/sinks/jsonl_sink.h"
#include "auditd/sinks/postgres_sink.h"
#include "common/clock.h"

namespace cordon::auditd {
namespace {

std::unique_ptr<audit::Sink> make_sink(const SinkConfig& config, const std::string& tenant) {
  if (config.type == SinkConfig::Type::postgres)
    return std::make_unique<audit::PostgresSink>(audit::PostgresSinkOptions{config.dsn, tenant, "postgres"});
  return std::make_unique<audit::JsonlSink>(config.path);
}

Json time_or_null(const std::optional<std::chrono::system_clock::time_point>& time) {
  return time ? Json(format_rfc3339_micros(*time)) : Json();
}

} // namespace

SinkSet::~SinkSet() { stop(); }

void SinkSet::start(const std::vector<SinkConfig>& sinks, const std::string& tenant,
                    const ledger::Ledger& ledger) {
  const ledger::Ledger* source = &ledger;
  std::string tenant_copy = tenant;
  auto read = [source, tenant_copy](std::uint64_t from, std::size_t max)
      -> Result<std::vector<audit::SinkEntry>> {
    auto page = CORDON_TRY(source->events(from, from + max, {}, max));
    std::vector<audit::SinkEntry> entries;
    entries.reserve(page.entries.size());
    for (auto& entry : page.entries)
      entries.push_back({entry.index, std::move(entry.leaf), ledger::hash_to_hex(entry.leaf_hash), tenant_copy});
    return entries;
  };
  for (const auto& config : sinks)
    m_runners.push_back(std::make_unique<audit::SinkRunner>(make_sink(config, tenant), read, ledger.size()));
  m_started = true;
}

void SinkSet::notify(std::uint64_t size) noexcept {
  if (!m_started.load(std::memory_order_acquire)) return;
  for (auto& runner : m_runners) runner->notify(size);
}

Json SinkSet::status() const {
  Json out = Json::array();
  if (!m_started.load(std::memory_order_acquire)) return out;
  for (const auto& runner : m_runners) {
    const auto status = runner->status();
    out.push_back({{"name", status.name},
                   {"state", std::string(audit::sink_state_name(status.state))},
                   {"cursor", status.cursor},
                   {"lag", status.lag},
                   {"consecutive_failures", status.consecutive_failures},
                   {"last_error", status.last_error ? Json(status.last_error->message) : Json()},
                   {"last_error_time", time_or_null(status.last_error_time)},
                   {"last_success_time", time_or_null(status.last_success_time)}});
  }
  return out;
}

void SinkSet::stop() {
  m_started = false;
  for (auto& runner : m_runners) runner->stop();
}

} // namespace cordon::auditd

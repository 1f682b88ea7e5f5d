#include "secretsd/vault/lease_book.h"

#include <algorithm>
#include <optional>

#include "common/json.h"
#include "common/log.h"

namespace cordon::secretsd {
namespace {

// Lease expiries are kept in milliseconds, so that none is taken as passed early.
std::int64_t unix_millis(std::chrono::system_clock::time_point time) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
}

Json lease_json(const Lease& lease) {
  return Json{{"id", lease.id},           {"secret", lease.secret}, {"version", lease.version},
              {"decision_id", lease.decision_id}, {"run_id", lease.run_id},
              {"expires_at_ms", unix_millis(lease.expires_at)}};
}

Result<Lease> lease_from_json(const Json& json) {
  if (!json.is_object()) return fail(Errc::integrity, "a lease record is not an object");
  try {
    return Lease{json.at("id").get<std::string>(), json.at("secret").get<std::string>(),
                 json.at("version").get<std::int64_t>(), json.at("decision_id").get<std::string>(),
                 json.at("run_id").get<std::string>(),
                 std::chrono::system_clock::time_point(std::chrono::milliseconds(json.at("expires_at_ms").get<std::int64_t>()))};
  } catch (const Json::exception& error) {
    return fail(Errc::integrity, std::string("a lease record is incomplete: ") + error.what());
  }
}

std::string spend_record(std::string_view nonce, std::int64_t forget_after, const Lease* lease) {
  Json record = {{"nonce", nonce}, {"forget_after", forget_after}};
  if (lease != nullptr) record["lease"] = lease_json(*lease);
  return record.dump();
}

} // namespace

Result<std::unique_ptr<LeaseBook>> LeaseBook::open(const std::filesystem::path& path, const Clock& clock,
                                                   LeaseBookOptions options) {
  auto book = std::unique_ptr<LeaseBook>(new LeaseBook(clock, options));
  std::optional<Error> problem;
  book->m_log = CORDON_TRY(RecordLog::open(
      path,
      [&](std::string_view payload) {
        if (problem) return;
        if (auto applied = book->apply(payload); !applied) problem = applied.error();
      },
      options.log));
  if (problem) return fail(problem->code, path.string() + ": " + problem->message);
  book->forget_old_nonces();
  book->m_rewritten_bytes = book->m_log->bytes();
  return book;
}

Result<void> LeaseBook::apply(std::string_view payload) {
  auto record = parse_json(payload);
  if (!record || !record->is_object()) return fail(Errc::integrity, "a record is not a JSON object");
  if (const auto closed = record->find("close"); closed != record->end()) {
    if (!closed->is_string()) return fail(Errc::integrity, "a close record names no lease");
    m_leases.erase(closed->get<std::string>());
    return ok();
  }
  const auto nonce = record->find("nonce");
  const auto forget_after = record->find("forget_after");
  if (nonce != record->end()) {
    if (!nonce->is_string() || forget_after == record->end() || !forget_after->is_number_integer())
      return fail(Errc::integrity, "a spend record lacks its nonce or forget_after");
    m_nonces.add(nonce->get_ref<const std::string&>(), forget_after->get<std::int64_t>());
  }
  if (const auto lease = record->find("lease"); lease != record->end()) {
    auto parsed = CORDON_TRY(lease_from_json(*lease));
    m_leases[parsed.id] = std::move(parsed);
  } else if (nonce == record->end()) {
    return fail(Errc::integrity, "a record is neither a spend, a lease nor a close");
  }
  return ok();
}

void LeaseBook::forget_old_nonces() {
  m_nonces.forget_before(unix_seconds(m_clock.now()) - m_options.remember_nonces_for.count());
}

void LeaseBook::compact_if_grown() {
  // Rewritten with only what is live once the log has grown well past it. A failed rewrite
  // leaves the old log, which is still right, so it is only reported.
  if (m_log->bytes() < std::max(m_options.rewrite_after_bytes, 2 * m_rewritten_bytes)) return;
  forget_old_nonces();
  if (auto rewritten = m_log->rewrite(live_records()); !rewritten) {
    log::warn("cannot compact the lease log", {{"error", rewritten.error().message}});
  }
  m_rewritten_bytes = m_log->bytes();
}

std::vector<std::string> LeaseBook::live_records() const {
  std::vector<std::string> live;
  live.reserve(m_nonces.size() + m_leases.size());
  for (const auto& [nonce, forget_after] : m_nonces.by_age()) live.push_back(spend_record(nonce, forget_after, nullptr));
  for (const auto& [id, lease] : m_leases) live.push_back(Json{{"lease", lease_json(lease)}}.dump());
  return live;
}

Result<void> LeaseBook::spend_nonce(std::string_view nonce, std::chrono::system_clock::time_point forget_after) {
  std::lock_guard lock(m_mutex);
  forget_old_nonces();
  if (m_nonces.contains(nonce)) return fail(Errc::conflict, "the decision packet was used before");
  const auto forget = unix_seconds(forget_after);
  CORDON_TRY_VOID(m_log->append(spend_record(nonce, forget, nullptr)));
  m_nonces.add(nonce, forget);
  compact_if_grown();
  return ok();
}

Result<void> LeaseBook::spend_nonce_and_open(std::string_view nonce, std::chrono::system_clock::time_point forget_after,
                                             const Lease& lease) {
  std::lock_guard lock(m_mutex);
  forget_old_nonces();
  if (m_nonces.contains(nonce)) return fail(Errc::conflict, "the decision packet was used before");
  if (m_leases.contains(lease.id)) return fail(Errc::conflict, "a lease " + lease.id + " is open already");
  const auto forget = unix_seconds(forget_after);
  CORDON_TRY_VOID(m_log->append(spend_record(nonce, forget, &lease)));
  m_nonces.add(nonce, forget);
  m_leases[lease.id] = lease;
  compact_if_grown();
  return ok();
}

Result<Lease> LeaseBook::close(std::string_view id) {
  std::lock_guard lock(m_mutex);
  const auto found = m_leases.find(std::string(id));
  if (found == m_leases.end()) return fail(Errc::not_found, "no open lease " + std::string(id));
  CORDON_TRY_VOID(m_log->append(Json{{"close", id}}.dump()));
  Lease lease = std::move(found->second);
  m_leases.erase(found);
  compact_if_grown();
  return lease;
}

std::vector<Lease> LeaseBook::expired(std::chrono::system_clock::time_point now, std::size_t limit) const {
  std::lock_guard lock(m_mutex);
  std::vector<Lease> out;
  for (const auto& [id, lease] : m_leases) {
    if (lease.expires_at <= now) out.push_back(lease);
  }
  std::sort(out.begin(), out.end(), [](const Lease& a, const Lease& b) { return a.expires_at < b.expires_at; });
  if (out.size() > limit) out.resize(limit);
  return out;
}

Result<void> LeaseBook::import(const std::vector<std::pair<std::string, std::chrono::system_clock::time_point>>& nonces,
                               const std::vector<Lease>& leases) {
  std::lock_guard lock(m_mutex);
  for (const auto& [nonce, forget_after] : nonces) {
    if (m_nonces.contains(nonce)) continue;
    const auto forget = unix_seconds(forget_after);
    CORDON_TRY_VOID(m_log->append(spend_record(nonce, forget, nullptr)));
    m_nonces.add(nonce, forget);
  }
  for (const auto& lease : leases) {
    if (m_leases.contains(lease.id)) continue;
    CORDON_TRY_VOID(m_log->append(Json{{"lease", lease_json(lease)}}.dump()));
    m_leases[lease.id] = lease;
  }
  compact_if_grown();
  return ok();
}

Result<void> LeaseBook::close_all() {
  std::lock_guard lock(m_mutex);
  auto leases = std::move(m_leases);
  m_leases.clear();
  if (auto rewritten = m_log->rewrite(live_records()); !rewritten) {
    m_leases = std::move(leases);
    return rewritten;
  }
  m_rewritten_bytes = m_log->bytes();
  return ok();
}

std::size_t LeaseBook::open_leases() const {
  std::lock_guard lock(m_mutex);
  return m_leases.size();
}

std::size_t LeaseBook::remembered_nonces() const {
  std::lock_guard lock(m_mutex);
  return m_nonces.size();
}

std::uint64_t LeaseBook::log_bytes() const {
  std::lock_guard lock(m_mutex);
  return m_log->bytes();
}

} // namespace cordon::secretsd

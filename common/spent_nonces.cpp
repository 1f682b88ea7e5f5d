#include "common/spent_nonces.h"

#include <algorithm>
#include <optional>

#include "common/json.h"
#include "common/log.h"

namespace cordon {
namespace {

std::string spend_record(std::string_view nonce, std::int64_t forget_after) {
  return Json{{"nonce", nonce}, {"forget_after", forget_after}}.dump();
}

} // namespace

Result<std::unique_ptr<SpentNonces>> SpentNonces::open(const std::filesystem::path& path, const Clock& clock,
                                                       SpentNoncesOptions options) {
  auto nonces = std::unique_ptr<SpentNonces>(new SpentNonces(clock, options));
  std::optional<Error> problem;
  nonces->m_log = CORDON_TRY(RecordLog::open(
      path,
      [&](std::string_view payload) {
        if (problem) return;
        if (auto applied = nonces->apply(payload); !applied) problem = applied.error();
      },
      options.log));
  if (problem) return fail(problem->code, path.string() + ": " + problem->message);
  nonces->forget_old();
  nonces->m_rewritten_bytes = nonces->m_log->bytes();
  return nonces;
}

Result<void> SpentNonces::apply(std::string_view payload) {
  auto record = parse_json(payload);
  if (!record || !record->is_object()) return fail(Errc::integrity, "a record is not a JSON object");
  const auto nonce = record->find("nonce");
  const auto forget_after = record->find("forget_after");
  if (record->size() != 2 || nonce == record->end() || !nonce->is_string() || forget_after == record->end() ||
      !forget_after->is_number_integer())
    return fail(Errc::integrity, "a record is not a spent nonce with its forget_after");
  m_nonces.add(nonce->get_ref<const std::string&>(), forget_after->get<std::int64_t>());
  return ok();
}

void SpentNonces::forget_old() { m_nonces.forget_before(unix_seconds(m_clock.now()) - m_options.remember_for.count()); }

void SpentNonces::compact_if_grown() {
  // Rewritten with only what is remembered once the log has grown well past it. A failed
  // rewrite leaves the old log, which is still right, so it is only reported.
  if (m_log->bytes() < std::max(m_options.rewrite_after_bytes, 2 * m_rewritten_bytes)) return;
  forget_old();
  std::vector<std::string> live;
  for (const auto& [nonce, forget_after] : m_nonces.by_age()) live.push_back(spend_record(nonce, forget_after));
  if (auto rewritten = m_log->rewrite(live); !rewritten) {
    log::warn("cannot compact the spent-nonce log", {{"path", m_log->path().string()}, {"error", rewritten.error().message}});
  }
  m_rewritten_bytes = m_log->bytes();
}

Result<void> SpentNonces::spend(std::string_view nonce, std::chrono::system_clock::time_point forget_after) {
  std::lock_guard lock(m_mutex);
  forget_old();
  if (m_nonces.contains(nonce)) return fail(Errc::conflict, "the decision packet was used before");
  const auto forget = unix_seconds(forget_after);
  CORDON_TRY_VOID(m_log->append(spend_record(nonce, forget)));
  m_nonces.add(nonce, forget);
  compact_if_grown();
  return ok();
}

Result<void> SpentNonces::import(const std::vector<std::pair<std::string, std::chrono::system_clock::time_point>>& nonces) {
  std::lock_guard lock(m_mutex);
  for (const auto& [nonce, forget_after] : nonces) {
    if (m_nonces.contains(nonce)) continue;
    const auto forget = unix_seconds(forget_after);
    CORDON_TRY_VOID(m_log->append(spend_record(nonce, forget)));
    m_nonces.add(nonce, forget);
  }
  compact_if_grown();
  return ok();
}

std::size_t SpentNonces::remembered() const {
  std::lock_guard lock(m_mutex);
  return m_nonces.size();
}

std::uint64_t SpentNonces::log_bytes() const {
  std::lock_guard lock(m_mutex);
  return m_log->bytes();
}

} // namespace cordon

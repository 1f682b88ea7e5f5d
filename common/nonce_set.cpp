#include "common/nonce_set.h"

namespace cordon {

void NonceSet::add(std::string_view nonce, std::int64_t forget_after) {
  if (contains(nonce)) return;
  m_by_age.emplace(forget_after, std::string(nonce));
  m_nonces.emplace(std::string(nonce), forget_after);
}

void NonceSet::forget_before(std::int64_t horizon) {
  while (!m_by_age.empty() && m_by_age.begin()->first < horizon) {
    m_nonces.erase(m_by_age.begin()->second);
    m_by_age.erase(m_by_age.begin());
  }
}

std::vector<std::pair<std::string, std::int64_t>> NonceSet::by_age() const {
  std::vector<std::pair<std::string, std::int64_t>> out;
  out.reserve(m_by_age.size());
  for (const auto& [forget_after, nonce] : m_by_age) out.emplace_back(nonce, forget_after);
  return out;
}

} // namespace cordon

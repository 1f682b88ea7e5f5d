#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace cordon {

// Spent single-use nonces in memory, each with the time (seconds since the epoch) after which
// it may be forgotten: the half of a durable nonce store that answers "seen before?" (the
// owner makes each spend durable before it adds it here). Lookups take a string_view and do not
// allocate. Not thread-safe: its owner serialises calls.
class NonceSet {
public:
  bool contains(std::string_view nonce) const { return m_nonces.find(nonce) != m_nonces.end(); }
  // Adds `nonce`; one already held keeps its first forget_after.
  void add(std::string_view nonce, std::int64_t forget_after);
  // Forgets every nonce whose forget_after is before `horizon`.
  void forget_before(std::int64_t horizon);
  // Every nonce held with its forget_after, oldest first.
  std::vector<std::pair<std::string, std::int64_t>> by_age() const;
  std::size_t size() const { return m_nonces.size(); }

private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
  };
  std::unordered_map<std::string, std::int64_t, Hash, std::equal_to<>> m_nonces; // nonce -> forget_after
  std::multimap<std::int64_t, std::string> m_by_age;                             // forget_after -> nonce
};

} // namespace cordon

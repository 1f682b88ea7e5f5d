#pragma once

#include <array>
#include <cstdint>

#include "auditd/ledger/hash.h"

namespace cordon::ledger {

// The right border of a growing Merkle tree: one subtree root per set bit of size(), so that
// root() of the RFC 9162 tree over everything appended is available at any time in O(log n)
// memory. Used to verify a ledger as it streams past.
class CompactRange {
public:
  std::uint64_t size() const { return m_size; }

  // Appends one leaf hash.
  void append(const Hash& leaf_hash) { append_subtree(0, leaf_hash); }

  // Appends the root of a complete subtree of 2^level leaves starting at leaf size(). Requires
  // size() to be a multiple of 2^level (aborts otherwise: a caller bug, not bad input).
  void append_subtree(unsigned level, const Hash& subtree_root);

  // The RFC 9162 root of leaves [0, size()); the hash of the empty string when empty.
  Hash root() const;

private:
  std::array<Hash, 64> m_nodes{}; // m_nodes[k] is valid iff bit k of m_size is set
  std::uint64_t m_size = 0;
};

// Calls visit(level, begin) for each piece of the split of leaves [begin, end) into maximal
// aligned complete subtrees, in order: each piece [begin, begin + 2^level) has begin a multiple
// of 2^level, so it can be hashed on its own and appended to a CompactRange of size begin.
template <class Visit>
void for_each_aligned_piece(std::uint64_t begin, std::uint64_t end, Visit&& visit) {
  while (begin < end) {
    unsigned level = 63 - static_cast<unsigned>(__builtin_clzll(end - begin));
    if (begin != 0) {
      const auto alignment = static_cast<unsigned>(__builtin_ctzll(begin));
      if (alignment < level) level = alignment;
    }
    visit(level, begin);
    begin += std::uint64_t{1} << level;
  }
}

} // namespace cordon::ledger

#include "auditd/ledger/compact_range.h"

#include <cstdio>
#include <cstdlib>

namespace cordon::ledger {

void CompactRange::append_subtree(unsigned level, const Hash& subtree_root) {
  if (level >= 64 || (m_size & ((std::uint64_t{1} << level) - 1)) != 0) {
    std::fprintf(stderr, "cordon: CompactRange::append_subtree at an unaligned position\n");
    std::abort();
  }
  // Adding 2^level to the size carries through every set bit from `level` up; each carry merges
  // the stored subtree on the left with the new one on the right.
  Hash carry = subtree_root;
  unsigned bit = level;
  while (bit < 64 && (m_size >> bit & 1) != 0) {
    carry = node_hash(m_nodes[bit], carry);
    ++bit;
  }
  if (bit < 64) m_nodes[bit] = carry;
  m_size += std::uint64_t{1} << level;
}

Hash CompactRange::root() const {
  if (m_size == 0) return empty_root();
  unsigned bit = static_cast<unsigned>(__builtin_ctzll(m_size));
  Hash hash = m_nodes[bit];
  for (++bit; bit < 64; ++bit) {
    if ((m_size >> bit & 1) != 0) hash = node_hash(m_nodes[bit], hash);
  }
  return hash;
}

} // namespace cordon::ledger

#include "auditd/ledger/merkle.h"

#include <algorithm>
#include <bit>
#include <string>

namespace cordon::ledger {
namespace {

// The largest power of two strictly below n (n ≥ 2): the split point k of RFC 9162 §2.1.1.
std::uint64_t split_point(std::uint64_t n) { return std::bit_floor(n - 1); }

std::string size_text(std::uint64_t n) { return std::to_string(n); }

} // namespace

void MerkleTree::append(const Hash& leaf_hash) {
  Hash carry = leaf_hash;
  std::uint64_t position = m_size; // index of the new node on the current level
  for (unsigned level = 0;; ++level) {
    if (m_levels.size() == level) m_levels.emplace_back();
    m_levels[level].push_back(carry);
    // A node at an odd position completes its parent on the level above.
    if ((position & 1) == 0) break;
    const auto& nodes = m_levels[level];
    carry = node_hash(nodes[nodes.size() - 2], nodes.back());
    position >>= 1;
  }
  ++m_size;
}

Hash MerkleTree::subtree_hash(std::uint64_t begin, std::uint64_t end) const {
  // The subtree is the aligned complete pieces of its size's binary form, largest first; its
  // hash folds them from the right (RFC 9162 §2.1.1 splits at the largest power of two).
  std::uint64_t piece_begin[64];
  unsigned piece_level[64];
  int pieces = 0;
  for (int level = 63; level >= 0; --level) {
    const std::uint64_t width = std::uint64_t{1} << level;
    if (((end - begin) & width) == 0) continue;
    piece_begin[pieces] = begin;
    piece_level[pieces] = static_cast<unsigned>(level);
    ++pieces;
    begin += width;
  }
  Hash hash = m_levels[piece_level[pieces - 1]][piece_begin[pieces - 1] >> piece_level[pieces - 1]];
  for (int i = pieces - 2; i >= 0; --i) {
    hash = node_hash(m_levels[piece_level[i]][piece_begin[i] >> piece_level[i]], hash);
  }
  return hash;
}

Result<Hash> MerkleTree::root(std::uint64_t n) const {
  if (n > m_size) {
    return fail(Errc::invalid_argument,
                "tree size " + size_text(n) + " is beyond the ledger's size " + size_text(m_size));
  }
  if (n == 0) return empty_root();
  return subtree_hash(0, n);
}

Hash MerkleTree::root() const { return m_size == 0 ? empty_root() : subtree_hash(0, m_size); }

Result<std::vector<Hash>> MerkleTree::inclusion_proof(std::uint64_t index, std::uint64_t n) const {
  if (n > m_size) {
    return fail(Errc::invalid_argument,
                "tree size " + size_text(n) + " is beyond the ledger's size " + size_text(m_size));
  }
  if (index >= n) {
    return fail(Errc::invalid_argument,
                "leaf index " + size_text(index) + " is not below tree size " + size_text(n));
  }
  // PATH(m, D[lo:hi]) descends towards the leaf; each step records the sibling subtree, which
  // the RFC appends after the deeper path, so the list is reversed at the end.
  std::vector<Hash> proof;
  std::uint64_t lo = 0;
  std::uint64_t hi = n;
  while (hi - lo > 1) {
    const std::uint64_t k = split_point(hi - lo);
    if (index < lo + k) {
      proof.push_back(subtree_hash(lo + k, hi));
      hi = lo + k;
    } else {
      proof.push_back(subtree_hash(lo, lo + k));
      lo += k;
    }
  }
  std::reverse(proof.begin(), proof.end());
  return proof;
}

Result<std::vector<Hash>> MerkleTree::consistency_proof(std::uint64_t m, std::uint64_t n) const {
  if (n > m_size) {
    return fail(Errc::invalid_argument,
                "tree size " + size_text(n) + " is beyond the ledger's size " + size_text(m_size));
  }
  if (m > n) {
    return fail(Errc::invalid_argument,
                "old tree size " + size_text(m) + " is larger than new size " + size_text(n));
  }
  if (m == 0) {
    return fail(Errc::invalid_argument,
                "a consistency proof from the empty tree is not defined (RFC 9162 §2.1.4.1)");
  }
  // SUBPROOF(m, D[lo:hi], b), unrolled; siblings are collected top-down and reversed.
  std::vector<Hash> proof;
  std::uint64_t lo = 0;
  std::uint64_t hi = n;
  std::uint64_t old_size = m; // relative to lo
  bool complete_old_subtree = true;
  while (old_size != hi - lo) {
    const std::uint64_t k = split_point(hi - lo);
    if (old_size <= k) {
      proof.push_back(subtree_hash(lo + k, hi));
      hi = lo + k;
    } else {
      proof.push_back(subtree_hash(lo, lo + k));
      lo += k;
      old_size -= k;
      complete_old_subtree = false;
    }
  }
  if (!complete_old_subtree) proof.push_back(subtree_hash(lo, hi));
  std::reverse(proof.begin(), proof.end());
  return proof;
}

std::optional<Hash> MerkleTree::stored_hash(unsigned level, std::uint64_t index) const {
  if (level >= m_levels.size() || index >= m_levels[level].size()) return std::nullopt;
  return m_levels[level][index];
}

Result<void> verify_inclusion(std::uint64_t index, std::uint64_t size, const Hash& leaf_hash,
                              std::span<const Hash> proof, const Hash& root) {
  if (index >= size) {
    return fail(Errc::invalid_argument,
                "leaf index " + size_text(index) + " is not below tree size " + size_text(size));
  }
  std::uint64_t fn = index;
  std::uint64_t sn = size - 1;
  Hash r = leaf_hash;
  for (const Hash& p : proof) {
    if (sn == 0) return fail(Errc::integrity, "inclusion proof is too long");
    if ((fn & 1) != 0 || fn == sn) {
      r = node_hash(p, r);
      while ((fn & 1) == 0 && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      r = node_hash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return fail(Errc::integrity, "inclusion proof is too short");
  if (r != root) return fail(Errc::integrity, "inclusion proof does not lead to the root");
  return ok();
}

Result<void> verify_consistency(std::uint64_t m, std::uint64_t n, const Hash& root_m,
                                const Hash& root_n, std::span<const Hash> proof) {
  if (m > n) {
    return fail(Errc::invalid_argument,
                "old tree size " + size_text(m) + " is larger than new size " + size_text(n));
  }
  if (m == 0) {
    return fail(Errc::invalid_argument,
                "a consistency proof from the empty tree is not defined (RFC 9162 §2.1.4.1)");
  }
  if (m == n) {
    if (!proof.empty()) return fail(Errc::integrity, "consistency proof between equal sizes is not empty");
    if (root_m != root_n) return fail(Errc::integrity, "trees of equal size have different roots");
    return ok();
  }
  if (proof.empty()) return fail(Errc::integrity, "consistency proof is empty");

  // RFC 9162 §2.1.4.2. When m is a power of two the old root is itself the first node.
  std::size_t next = 0;
  Hash seed;
  if (std::has_single_bit(m)) {
    seed = root_m;
  } else {
    seed = proof[0];
    next = 1;
  }
  std::uint64_t fn = m - 1;
  std::uint64_t sn = n - 1;
  while ((fn & 1) != 0) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash fr = seed;
  Hash sr = seed;
  for (; next < proof.size(); ++next) {
    const Hash& c = proof[next];
    if (sn == 0) return fail(Errc::integrity, "consistency proof is too long");
    if ((fn & 1) != 0 || fn == sn) {
      fr = node_hash(c, fr);
      sr = node_hash(c, sr);
      while ((fn & 1) == 0 && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      sr = node_hash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return fail(Errc::integrity, "consistency proof is too short");
  if (fr != root_m) return fail(Errc::integrity, "consistency proof does not lead to the old root");
  if (sr != root_n) return fail(Errc::integrity, "consistency proof does not lead to the new root");
  return ok();
}

} // namespace cordon::ledger

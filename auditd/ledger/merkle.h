#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <vector>

#include "auditd/ledger/hash.h"
#include "common/error.h"

// The RFC 6962 / RFC 9162 Merkle tree of the ledger: tree hashes, inclusion and consistency
// proofs, and their verification.
namespace cordon::ledger {

// An append-only Merkle tree over leaf hashes that keeps the hash of every complete, aligned
// subtree: level k holds the hashes of leaves [i·2^k, (i+1)·2^k) for every i with
// (i+1)·2^k ≤ size(), about 2·size() hashes in all. Any root, proof or C2SP tile of any earlier
// tree size is then answered from stored hashes in O(log² n) node hashes, without rehashing
// leaves. Not thread-safe: the ledger guards it with its reader/writer lock.
class MerkleTree {
public:
  std::uint64_t size() const { return m_size; }

  // Adds one leaf hash (SHA-256(0x00 || leaf)). Amortised O(1): one node hash per leaf.
  void append(const Hash& leaf_hash);

  // The root of the tree of the first n leaves (RFC 9162 §2.1.1 MTH); for n = 0 the hash of the
  // empty string. Errc::invalid_argument if n > size().
  Result<Hash> root(std::uint64_t n) const;
  Hash root() const;

  // The audit path (RFC 9162 §2.1.3.1 PATH) of leaf `index` in the tree of the first n leaves,
  // ordered from the leaf's sibling up to the root's child. Empty for n = 1. Errc::invalid_argument
  // if index ≥ n or n > size().
  Result<std::vector<Hash>> inclusion_proof(std::uint64_t index, std::uint64_t n) const;

  // The consistency proof (RFC 9162 §2.1.4.1 PROOF) between the trees of the first m and the
  // first n leaves. Empty when m = n. RFC 9162 defines it only for 0 < m, so m = 0 is refused
  // (the empty tree is a prefix of every tree; there is nothing to prove), as is m > n or
  // n > size(), all with Errc::invalid_argument.
  Result<std::vector<Hash>> consistency_proof(std::uint64_t m, std::uint64_t n) const;

  // The stored hash of the complete subtree of 2^level leaves starting at leaf index·2^level,
  // or nullopt if that subtree is not complete yet. Level 0 holds the leaf hashes. C2SP
  // tlog-tiles: hash tile L/N holds stored_hash(8·L, N·256 + i) for i < width.
  std::optional<Hash> stored_hash(unsigned level, std::uint64_t index) const;

private:
  // The RFC 9162 MTH of leaves [begin, end), which must be a subtree the RFC's recursion can
  // produce: begin is a multiple of the smallest power of two ≥ end − begin.
  Hash subtree_hash(std::uint64_t begin, std::uint64_t end) const;

  // m_levels[k][i] is the hash of leaves [i·2^k, (i+1)·2^k). A deque grows without copying the
  // hashes already stored.
  std::vector<std::deque<Hash>> m_levels;
  std::uint64_t m_size = 0;
};

// Checks an inclusion proof by the algorithm of RFC 9162 §2.1.3.2. Errc::invalid_argument if
// index ≥ size; Errc::integrity if the proof does not lead from leaf_hash to root (including a
// proof of the wrong length).
Result<void> verify_inclusion(std::uint64_t index, std::uint64_t size, const Hash& leaf_hash,
                              std::span<const Hash> proof, const Hash& root);

// Checks a consistency proof by the algorithm of RFC 9162 §2.1.4.2. When m = n the proof must be
// empty and the roots equal. Errc::invalid_argument if m = 0 or m > n (no proof is defined);
// Errc::integrity if the proof does not show that the tree of size m with root_m is a prefix of
// the tree of size n with root_n.
Result<void> verify_consistency(std::uint64_t m, std::uint64_t n, const Hash& root_m,
                                const Hash& root_n, std::span<const Hash> proof);

} // namespace cordon::ledger

#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

#include "auditd/ledger/compact_range.h"
#include "auditd/ledger/merkle.h"
#include "common/crypto.h"
#include "common/encoding.h"
#include "test_support.h"

using namespace cordon;
using namespace cordon::ledger;
using cordon::ledger::testing::hash_of_hex;

namespace {

// The RFC 6962 test tree (certificate-transparency-go / transparency-dev/merkle test data).
std::vector<std::string> rfc_leaves() {
  const char* hex[] = {"",         "00",       "10",       "2021", "3031", "40414243",
                       "5051525354555657", "606162636465666768696a6b6c6d6e6f"};
  std::vector<std::string> leaves;
  for (const char* h : hex) {
    auto bytes = from_hex(h);
    REQUIRE(bytes);
    leaves.emplace_back(bytes->begin(), bytes->end());
  }
  return leaves;
}

const char* const rfc_roots[] = {
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

MerkleTree tree_of(const std::vector<std::string>& leaves) {
  MerkleTree tree;
  for (const auto& leaf : leaves) tree.append(leaf_hash(leaf));
  return tree;
}

std::vector<Hash> hashes(std::initializer_list<const char*> hex) {
  std::vector<Hash> out;
  for (const char* h : hex) out.push_back(hash_of_hex(h));
  return out;
}

// RFC 9162 §2.1 written as literally as possible, as an independent reference.
struct Naive {
  std::vector<Hash> leaves;

  static std::uint64_t k_of(std::uint64_t n) {
    std::uint64_t k = 1;
    while (k * 2 < n) k *= 2;
    return k;
  }
  Hash mth(std::uint64_t lo, std::uint64_t hi) const {
    if (hi - lo == 0) return empty_root();
    if (hi - lo == 1) return leaves[lo];
    const std::uint64_t k = k_of(hi - lo);
    return node_hash(mth(lo, lo + k), mth(lo + k, hi));
  }
  std::vector<Hash> path(std::uint64_t m, std::uint64_t lo, std::uint64_t hi) const {
    if (hi - lo <= 1) return {};
    const std::uint64_t k = k_of(hi - lo);
    std::vector<Hash> out;
    if (m < k) {
      out = path(m, lo, lo + k);
      out.push_back(mth(lo + k, hi));
    } else {
      out = path(m - k, lo + k, hi);
      out.push_back(mth(lo, lo + k));
    }
    return out;
  }
  std::vector<Hash> subproof(std::uint64_t m, std::uint64_t lo, std::uint64_t hi, bool b) const {
    const std::uint64_t n = hi - lo;
    if (m == n) return b ? std::vector<Hash>{} : std::vector<Hash>{mth(lo, hi)};
    const std::uint64_t k = k_of(n);
    std::vector<Hash> out;
    if (m <= k) {
      out = subproof(m, lo, lo + k, b);
      out.push_back(mth(lo + k, hi));
    } else {
      out = subproof(m - k, lo + k, hi, false);
      out.push_back(mth(lo, lo + k));
    }
    return out;
  }
};

Hash flipped(Hash hash, int bit = 3) {
  hash[0] ^= static_cast<std::uint8_t>(1 << bit);
  return hash;
}

} // namespace

TEST_CASE("leaf and node hashes are SHA-256 with the RFC 6962 prefixes") {
  const std::string leaf = "hello";
  const auto expected_leaf = crypto::sha256(std::string("\x00", 1) + leaf);
  CHECK(leaf_hash(leaf) == expected_leaf);

  const Hash left = leaf_hash("l");
  const Hash right = leaf_hash("r");
  std::string node("\x01", 1);
  node.append(reinterpret_cast<const char*>(left.data()), 32);
  node.append(reinterpret_cast<const char*>(right.data()), 32);
  CHECK(node_hash(left, right) == crypto::sha256(node));
}

TEST_CASE("the empty tree's root is the hash of the empty string") {
  MerkleTree tree;
  CHECK(tree.root() == hash_of_hex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
  CHECK(*tree.root(0) == empty_root());
  CHECK(CompactRange().root() == empty_root());
}

TEST_CASE("roots of the RFC 6962 test tree match for sizes 1 to 8") {
  const auto tree = tree_of(rfc_leaves());
  REQUIRE(tree.size() == 8);
  for (std::uint64_t n = 1; n <= 8; ++n) {
    INFO("size " << n);
    CHECK(*tree.root(n) == hash_of_hex(rfc_roots[n - 1]));
  }
  CHECK(tree.root() == hash_of_hex(rfc_roots[7]));
}

TEST_CASE("known RFC 6962 inclusion proofs are produced and verify") {
  const auto tree = tree_of(rfc_leaves());
  struct Vector {
    std::uint64_t index, size;
    std::vector<Hash> proof;
  };
  const std::vector<Vector> vectors = {
      {0, 1, {}},
      {0, 8,
       hashes({"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
               "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
               "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"})},
      {5, 8,
       hashes({"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
               "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
               "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"})},
      {2, 3, hashes({"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"})},
      {1, 5,
       hashes({"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
               "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
               "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"})},
  };
  const auto leaves = rfc_leaves();
  for (const auto& v : vectors) {
    INFO("leaf " << v.index << " of " << v.size);
    auto proof = tree.inclusion_proof(v.index, v.size);
    REQUIRE(proof);
    CHECK(*proof == v.proof);
    CHECK(verify_inclusion(v.index, v.size, leaf_hash(leaves[v.index]), v.proof,
                           hash_of_hex(rfc_roots[v.size - 1])));
  }
}

TEST_CASE("known RFC 6962 consistency proofs are produced and verify") {
  const auto tree = tree_of(rfc_leaves());
  struct Vector {
    std::uint64_t m, n;
    std::vector<Hash> proof;
  };
  const std::vector<Vector> vectors = {
      {1, 1, {}},
      {1, 8,
       hashes({"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
               "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
               "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"})},
      {6, 8,
       hashes({"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
               "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
               "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"})},
      {2, 5,
       hashes({"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
               "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"})},
      {6, 7,
       hashes({"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
               "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
               "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"})},
  };
  for (const auto& v : vectors) {
    INFO("consistency " << v.m << " -> " << v.n);
    auto proof = tree.consistency_proof(v.m, v.n);
    REQUIRE(proof);
    CHECK(*proof == v.proof);
    CHECK(verify_consistency(v.m, v.n, hash_of_hex(rfc_roots[v.m - 1]), hash_of_hex(rfc_roots[v.n - 1]),
                             v.proof));
  }
}

TEST_CASE("every inclusion proof up to size 8 verifies and every tampered one is refused") {
  const auto leaves = rfc_leaves();
  const auto tree = tree_of(leaves);
  for (std::uint64_t n = 1; n <= 8; ++n) {
    const Hash root = hash_of_hex(rfc_roots[n - 1]);
    for (std::uint64_t i = 0; i < n; ++i) {
      INFO("leaf " << i << " of " << n);
      const Hash leaf = leaf_hash(leaves[i]);
      const auto proof = *tree.inclusion_proof(i, n);
      REQUIRE(verify_inclusion(i, n, leaf, proof, root));

      CHECK_FALSE(verify_inclusion(i, n, flipped(leaf), proof, root));
      CHECK_FALSE(verify_inclusion(i, n, leaf, proof, flipped(root)));
      if (i > 0) CHECK_FALSE(verify_inclusion(i - 1, n, leaf, proof, root));
      if (i + 1 < n) CHECK_FALSE(verify_inclusion(i + 1, n, leaf, proof, root));
      CHECK_FALSE(verify_inclusion(i, n * 2, leaf, proof, root));
      if (n / 2 > i) CHECK_FALSE(verify_inclusion(i, n / 2, leaf, proof, root));
      for (std::size_t k = 0; k < proof.size(); ++k) {
        auto bad = proof;
        bad[k] = flipped(bad[k]);
        CHECK_FALSE(verify_inclusion(i, n, leaf, bad, root));
      }
      auto longer = proof;
      longer.push_back(root);
      CHECK_FALSE(verify_inclusion(i, n, leaf, longer, root));
      auto preceded = proof;
      preceded.insert(preceded.begin(), leaf);
      CHECK_FALSE(verify_inclusion(i, n, leaf, preceded, root));
      if (!proof.empty()) {
        auto shorter = proof;
        shorter.pop_back();
        CHECK_FALSE(verify_inclusion(i, n, leaf, shorter, root));
      }
    }
  }
}

TEST_CASE("every consistency proof up to size 8 verifies and every tampered one is refused") {
  const auto tree = tree_of(rfc_leaves());
  for (std::uint64_t n = 1; n <= 8; ++n) {
    for (std::uint64_t m = 1; m <= n; ++m) {
      INFO("consistency " << m << " -> " << n);
      const Hash old_root = hash_of_hex(rfc_roots[m - 1]);
      const Hash new_root = hash_of_hex(rfc_roots[n - 1]);
      const auto proof = *tree.consistency_proof(m, n);
      REQUIRE(verify_consistency(m, n, old_root, new_root, proof));
      if (m == n) {
        CHECK(proof.empty());
        CHECK_FALSE(verify_consistency(m, n, old_root, flipped(new_root), proof));
        continue;
      }
      CHECK_FALSE(verify_consistency(m, n, flipped(old_root), new_root, proof));
      CHECK_FALSE(verify_consistency(m, n, old_root, flipped(new_root), proof));
      CHECK_FALSE(verify_consistency(m, n, new_root, old_root, proof));
      CHECK_FALSE(verify_consistency(m, n, old_root, new_root, {}));
      if (m > 1) CHECK_FALSE(verify_consistency(m - 1, n, old_root, new_root, proof));
      if (m + 1 < n) CHECK_FALSE(verify_consistency(m + 1, n, old_root, new_root, proof));
      CHECK_FALSE(verify_consistency(m, n * 2, old_root, new_root, proof));
      for (std::size_t k = 0; k < proof.size(); ++k) {
        auto bad = proof;
        bad[k] = flipped(bad[k], 4);
        CHECK_FALSE(verify_consistency(m, n, old_root, new_root, bad));
      }
      auto longer = proof;
      longer.push_back(new_root);
      CHECK_FALSE(verify_consistency(m, n, old_root, new_root, longer));
      auto preceded = proof;
      preceded.insert(preceded.begin(), proof[0]);
      CHECK_FALSE(verify_consistency(m, n, old_root, new_root, preceded));
      auto shorter = proof;
      shorter.pop_back();
      CHECK_FALSE(verify_consistency(m, n, old_root, new_root, shorter));
    }
  }
}

TEST_CASE("a tree of one leaf has the leaf hash as root and empty proofs") {
  MerkleTree tree;
  const Hash leaf = leaf_hash("only");
  tree.append(leaf);
  CHECK(tree.root() == leaf);
  CHECK(tree.inclusion_proof(0, 1)->empty());
  CHECK(verify_inclusion(0, 1, leaf, {}, leaf));
  CHECK_FALSE(verify_inclusion(0, 1, leaf, {}, empty_root()));
  CHECK(tree.consistency_proof(1, 1)->empty());
  CHECK(verify_consistency(1, 1, leaf, leaf, {}));
  CHECK_FALSE(verify_consistency(1, 1, leaf, empty_root(), {}));
}

TEST_CASE("proofs outside the tree are refused as invalid arguments") {
  const auto tree = tree_of(rfc_leaves());
  CHECK(tree.inclusion_proof(8, 8).error().code == Errc::invalid_argument);
  CHECK(tree.inclusion_proof(3, 3).error().code == Errc::invalid_argument);
  CHECK(tree.inclusion_proof(0, 0).error().code == Errc::invalid_argument);
  CHECK(tree.inclusion_proof(0, 9).error().code == Errc::invalid_argument);
  CHECK(tree.root(9).error().code == Errc::invalid_argument);
  CHECK(tree.consistency_proof(5, 4).error().code == Errc::invalid_argument);
  CHECK(tree.consistency_proof(4, 9).error().code == Errc::invalid_argument);
  CHECK(verify_inclusion(1, 1, leaf_hash(""), {}, leaf_hash("")).error().code == Errc::invalid_argument);
  CHECK(verify_inclusion(0, 0, empty_root(), {}, empty_root()).error().code == Errc::invalid_argument);
}

TEST_CASE("a consistency proof from the empty tree is not defined") {
  const auto tree = tree_of(rfc_leaves());
  CHECK(tree.consistency_proof(0, 4).error().code == Errc::invalid_argument);
  CHECK(tree.consistency_proof(0, 0).error().code == Errc::invalid_argument);
  CHECK(verify_consistency(0, 4, empty_root(), hash_of_hex(rfc_roots[3]), {}).error().code ==
        Errc::invalid_argument);
}

TEST_CASE("roots and proofs match a naive RFC 9162 implementation for random sizes") {
  std::mt19937_64 random(6962);
  MerkleTree tree;
  Naive naive;
  for (int i = 0; i < 1100; ++i) {
    const Hash leaf = leaf_hash("leaf " + std::to_string(i));
    tree.append(leaf);
    naive.leaves.push_back(leaf);
  }
  std::vector<std::uint64_t> sizes = {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 255, 256, 257, 1023, 1024, 1025, 1100};
  for (int i = 0; i < 30; ++i) sizes.push_back(1 + random() % 1100);
  for (const std::uint64_t n : sizes) {
    INFO("size " << n);
    const Hash root = naive.mth(0, n);
    REQUIRE(*tree.root(n) == root);
    for (int trial = 0; trial < 8; ++trial) {
      const std::uint64_t index = random() % n;
      const auto proof = *tree.inclusion_proof(index, n);
      CHECK(proof == naive.path(index, 0, n));
      CHECK(verify_inclusion(index, n, naive.leaves[index], proof, root));
      const std::uint64_t m = 1 + random() % n;
      const auto consistency = *tree.consistency_proof(m, n);
      CHECK(consistency == (m == n ? std::vector<Hash>{} : naive.subproof(m, 0, n, true)));
      CHECK(verify_consistency(m, n, naive.mth(0, m), root, consistency));
    }
  }
}

TEST_CASE("stored hashes are the complete aligned subtrees that tiles serve") {
  MerkleTree tree;
  Naive naive;
  for (int i = 0; i < 600; ++i) {
    const Hash leaf = leaf_hash(std::to_string(i));
    tree.append(leaf);
    naive.leaves.push_back(leaf);
  }
  CHECK(*tree.stored_hash(0, 599) == naive.leaves[599]);
  CHECK_FALSE(tree.stored_hash(0, 600));
  CHECK(*tree.stored_hash(8, 0) == naive.mth(0, 256));
  CHECK(*tree.stored_hash(8, 1) == naive.mth(256, 512));
  CHECK_FALSE(tree.stored_hash(8, 2));
  CHECK(*tree.stored_hash(3, 74) == naive.mth(592, 600));
  CHECK_FALSE(tree.stored_hash(9, 1));
  CHECK_FALSE(tree.stored_hash(40, 0));
}

TEST_CASE("a compact range has the tree's root at every size") {
  MerkleTree tree;
  CompactRange range;
  for (int i = 0; i < 300; ++i) {
    const Hash leaf = leaf_hash(std::to_string(i));
    tree.append(leaf);
    range.append(leaf);
    REQUIRE(range.root() == tree.root());
  }
}

TEST_CASE("aligned pieces of any range fold into the same root") {
  Naive naive;
  for (int i = 0; i < 200; ++i) naive.leaves.push_back(leaf_hash(std::to_string(i)));
  std::mt19937_64 random(9162);
  for (int trial = 0; trial < 50; ++trial) {
    const std::uint64_t end = 1 + random() % 200;
    const std::uint64_t split = random() % (end + 1);
    CompactRange range;
    for (const auto& [begin, stop] : {std::pair{std::uint64_t{0}, split}, std::pair{split, end}}) {
      for_each_aligned_piece(begin, stop, [&](unsigned level, std::uint64_t piece_begin) {
        REQUIRE(piece_begin == range.size());
        range.append_subtree(level, naive.mth(piece_begin, piece_begin + (std::uint64_t{1} << level)));
      });
    }
    INFO("split " << split << " of " << end);
    CHECK(range.size() == end);
    CHECK(range.root() == naive.mth(0, end));
  }
}

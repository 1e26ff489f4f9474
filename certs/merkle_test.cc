#include "certs/merkle.h"

#include <string>
#include <vector>

#include "certs/signature.h"
#include "gtest/gtest.h"

namespace liaison::certs {
namespace {

// The leaves of Certificate Transparency's reference tree; the expected
// roots and paths below were computed by hand from RFC 6962 section 2.1
// (recursive MTH and PATH over these bytes), not copied from elsewhere.
std::vector<std::string> Leaves(size_t n) {
  const std::vector<std::string> all = {
      std::string(),
      std::string("\x00", 1),
      "\x10",
      "\x20\x21",
      "\x30\x31",
      "\x40\x41\x42\x43",
      "\x50\x51\x52\x53\x54\x55\x56\x57",
      "\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f"};
  return std::vector<std::string>(all.begin(), all.begin() + static_cast<long>(n));
}

std::vector<std::string> LeafHashes(const std::vector<std::string>& data) {
  std::vector<std::string> out;
  for (const std::string& d : data) out.push_back(MerkleLeafHash(d));
  return out;
}

std::string Hex(const std::string& bytes) { return HexEncode(bytes); }

// RFC 6962 2.1, literally: the reference the tree is checked against.
uint64_t SplitOf(uint64_t n) {
  uint64_t k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}
std::string ReferenceRoot(const std::vector<std::string>& h, size_t from, size_t to) {
  const size_t n = to - from;
  if (n == 0) return Sha256("");
  if (n == 1) return h[from];
  const size_t k = SplitOf(n);
  return MerkleNodeHash(ReferenceRoot(h, from, from + k), ReferenceRoot(h, from + k, to));
}
std::vector<std::string> ReferencePath(const std::vector<std::string>& h, size_t m, size_t from,
                                       size_t to) {
  const size_t n = to - from;
  if (n <= 1) return {};
  const size_t k = SplitOf(n);
  std::vector<std::string> out;
  if (m < k) {
    out = ReferencePath(h, m, from, from + k);
    out.push_back(ReferenceRoot(h, from + k, to));
  } else {
    out = ReferencePath(h, m - k, from + k, to);
    out.push_back(ReferenceRoot(h, from, from + k));
  }
  return out;
}

TEST(Merkle, HashesUseDistinctLeafAndNodePrefixes) {
  EXPECT_EQ(Hex(MerkleLeafHash("")),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
  EXPECT_EQ(MerkleLeafHash("ab"), Sha256(std::string("\x00"
                                                     "ab",
                                                     3)));
  EXPECT_EQ(MerkleNodeHash("a", "b"), Sha256("\x01"
                                             "ab"));
  EXPECT_NE(MerkleLeafHash("ab"), MerkleNodeHash("a", "b"));
}

TEST(Merkle, RootsOfTheReferenceTreeAtEverySize) {
  const char* want[] = {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
                        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
                        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
                        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
                        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
                        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"};
  for (size_t n = 1; n <= 8; ++n) {
    EXPECT_EQ(Hex(MerkleTree(LeafHashes(Leaves(n))).root()), want[n - 1]) << "size " << n;
  }
  EXPECT_EQ(MerkleTree({}).root(), Sha256(""));
}

TEST(Merkle, AuditPathsOfTheReferenceTree) {
  struct Case {
    uint64_t index, size;
    std::vector<const char*> path;
  };
  const std::vector<Case> cases = {
      {0,
       8,
       {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
      {5,
       8,
       {"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
      {2, 3, {"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"}},
      {1,
       5,
       {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
      {0, 1, {}},
  };
  for (const Case& c : cases) {
    const std::vector<std::string> leaves = LeafHashes(Leaves(c.size));
    MerkleTree tree(leaves);
    absl::StatusOr<std::vector<std::string>> path = tree.AuditPath(c.index);
    ASSERT_TRUE(path.ok()) << path.status();
    std::vector<std::string> hex;
    for (const std::string& p : *path) hex.push_back(Hex(p));
    EXPECT_EQ(hex, std::vector<std::string>(c.path.begin(), c.path.end()))
        << c.index << " of " << c.size;
    InclusionProof proof{c.index, c.size, *path};
    EXPECT_TRUE(VerifyInclusion(leaves[c.index], proof, tree.root(), c.size).ok());
  }
}

// Every leaf of every size up to 70 (odd splits, several levels of odd
// last nodes): the level-by-level tree equals the RFC's recursion, and each
// proof parses from its wire form and verifies.
TEST(Merkle, MatchesTheRfcRecursionForEveryLeafUpTo70) {
  for (size_t n = 1; n <= 70; ++n) {
    std::vector<std::string> leaves;
    for (size_t i = 0; i < n; ++i) leaves.push_back(MerkleLeafHash(std::to_string(i)));
    MerkleTree tree(leaves);
    ASSERT_EQ(tree.root(), ReferenceRoot(leaves, 0, n)) << "size " << n;
    for (size_t m = 0; m < n; ++m) {
      absl::StatusOr<std::vector<std::string>> path = tree.AuditPath(m);
      ASSERT_TRUE(path.ok());
      ASSERT_EQ(*path, ReferencePath(leaves, m, 0, n)) << m << " of " << n;
      ASSERT_EQ(path->size(), AuditPathLength(m, n));
      absl::StatusOr<InclusionProof> parsed =
          ParseInclusionProof(ToProto(InclusionProof{m, n, *path}).SerializeAsString());
      ASSERT_TRUE(parsed.ok()) << parsed.status();
      ASSERT_TRUE(VerifyInclusion(leaves[m], *parsed, tree.root(), n).ok()) << m << " of " << n;
    }
  }
  EXPECT_FALSE(MerkleTree({MerkleLeafHash("a")}).AuditPath(1).ok());
}

class ForgedProof : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 13; ++i)
      leaves_.push_back(MerkleLeafHash("statement " + std::to_string(i)));
    tree_ = std::make_unique<MerkleTree>(leaves_);
    wire_ = ToProto(InclusionProof{5, 13, *tree_->AuditPath(5)});
  }
  // Parses, then verifies leaf 5: the error message or "ok".
  std::string Check(const liaison::v1::InclusionProof& wire, int leaf = 5) const {
    absl::StatusOr<InclusionProof> p = ParseInclusionProof(wire);
    if (!p.ok()) return std::string(p.status().message());
    absl::Status s = VerifyInclusion(leaves_[leaf], *p, tree_->root(), 13);
    return s.ok() ? "ok" : std::string(s.message());
  }
  std::vector<std::string> leaves_;
  std::unique_ptr<MerkleTree> tree_;
  liaison::v1::InclusionProof wire_;
};

TEST_F(ForgedProof, TheGenuineProofVerifies) { EXPECT_EQ(Check(wire_), "ok"); }

TEST_F(ForgedProof, WrongIndexIsRefused) {
  liaison::v1::InclusionProof w = wire_;
  w.set_leaf_index(4);
  EXPECT_EQ(Check(w),
            "inclusion: leaf 4 of a tree of 13 does not lead to the signed root (forged or for "
            "another batch)");
  // Another leaf's genuine proof does not place this leaf either.
  EXPECT_NE(Check(ToProto(InclusionProof{4, 13, *tree_->AuditPath(4)})), "ok");
}

TEST_F(ForgedProof, IndexOutsideTheTreeIsRefused) {
  liaison::v1::InclusionProof w = wire_;
  w.set_leaf_index(13);
  EXPECT_EQ(Check(w), "inclusion.leaf_index: 13 is not below tree_size 13");
  w.set_tree_size(0);
  EXPECT_EQ(Check(w), "inclusion.tree_size: 0; a proof needs at least one leaf");
}

TEST_F(ForgedProof, WrongSizeIsRefused) {
  liaison::v1::InclusionProof w = wire_;
  // Leaf 5's path is the same in trees of 13 and 14 leaves, so the size is
  // checked against the one the root was signed with.
  w.set_tree_size(14);
  EXPECT_EQ(Check(w), "inclusion.tree_size: 14, the signed root covers 13");
  w.set_tree_size(6);  // a shorter path: caught by the parser
  EXPECT_EQ(Check(w),
            "inclusion.audit_path: 4 hashes (extra nodes); leaf 5 of a tree of 6 needs exactly 2");
}

TEST_F(ForgedProof, TruncatedPathIsRefused) {
  liaison::v1::InclusionProof w = wire_;
  w.mutable_audit_path()->RemoveLast();
  EXPECT_EQ(Check(w),
            "inclusion.audit_path: 3 hashes (truncated); leaf 5 of a tree of 13 needs exactly 4");
}

TEST_F(ForgedProof, ExtraNodeIsRefused) {
  liaison::v1::InclusionProof w = wire_;
  w.add_audit_path(std::string(32, 'x'));
  EXPECT_EQ(Check(w),
            "inclusion.audit_path: 5 hashes (extra nodes); leaf 5 of a tree of 13 needs exactly 4");
}

TEST_F(ForgedProof, SwappedSiblingsAreRefused) {
  liaison::v1::InclusionProof w = wire_;
  w.mutable_audit_path()->SwapElements(0, 1);
  EXPECT_EQ(Check(w),
            "inclusion: leaf 5 of a tree of 13 does not lead to the signed root (forged or for "
            "another batch)");
}

TEST_F(ForgedProof, AlteredHashOrBadLengthIsRefused) {
  liaison::v1::InclusionProof w = wire_;
  (*w.mutable_audit_path(2))[7] ^= 1;
  EXPECT_NE(Check(w), "ok");
  w = wire_;
  w.mutable_audit_path(1)->pop_back();
  EXPECT_EQ(Check(w), "inclusion.audit_path[1]: 31 bytes, not 32");
}

TEST_F(ForgedProof, ALeafIsNotAnInnerNode) {
  // The node over leaves 4 and 5, offered as a leaf one level up: the
  // prefixes make it a different hash, so the shortened proof fails.
  const std::string inner = MerkleNodeHash(leaves_[4], leaves_[5]);
  std::vector<std::string> path = *tree_->AuditPath(5);
  path.erase(path.begin());
  absl::StatusOr<InclusionProof> p = ParseInclusionProof(ToProto(InclusionProof{2, 7, path}));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_FALSE(VerifyInclusion(MerkleLeafHash(inner), *p, tree_->root(), 7).ok());
}

TEST_F(ForgedProof, UnknownFieldsAndGarbageAreRefused) {
  std::string bytes = wire_.SerializeAsString();
  bytes.append("\x48\x01", 2);  // field 9, varint 1
  EXPECT_EQ(ParseInclusionProof(bytes).status().message(),
            "inclusion: unknown fields in the proof");
  EXPECT_EQ(ParseInclusionProof(std::string("\x0a\xff", 2)).status().message(),
            "inclusion: not a liaison.v1.InclusionProof");
}

}  // namespace
}  // namespace liaison::certs

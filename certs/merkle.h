// Merkle trees with RFC 6962 (Certificate Transparency) hashing, for signing
// a batch of statements once: leaf = SHA-256(0x00 || data), node =
// SHA-256(0x01 || left || right); a tree of n > 1 leaves splits at the
// largest power of two below n. The distinct prefixes keep a leaf from ever
// being taken for an inner node (second-preimage attacks).
//
// The wire form of an inclusion proof is liaison.v1.InclusionProof; parse it
// with ParseInclusionProof (strict: every field checked, nothing left over)
// before verifying it. Pure functions and an immutable tree: thread-safe.
#ifndef LIAISON_CERTS_MERKLE_H_
#define LIAISON_CERTS_MERKLE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "liaison/v1/envelope.pb.h"

namespace liaison::certs {

inline constexpr size_t kMerkleHashSize = 32;
// The deepest audit path accepted: a tree of up to 2^64 leaves.
inline constexpr size_t kMaxAuditPath = 64;

// SHA-256(0x00 || data).
std::string MerkleLeafHash(std::string_view data);
// SHA-256(0x01 || left || right).
std::string MerkleNodeHash(std::string_view left, std::string_view right);

// A tree over leaf hashes (MerkleLeafHash), every level kept, so that the
// root and each audit path cost no hashing beyond building it (n - 1 node
// hashes). Immutable once built.
class MerkleTree {
 public:
  // `leaf_hashes` may be empty (its root is then SHA-256 of nothing, as in
  // RFC 6962); each should be kMerkleHashSize bytes.
  explicit MerkleTree(std::vector<std::string> leaf_hashes);

  uint64_t size() const { return levels_.front().size(); }
  const std::string& root() const { return root_; }
  // RFC 6962's PATH(index, D[size]): sibling hashes from the leaf upwards.
  // InvalidArgument when index >= size().
  absl::StatusOr<std::vector<std::string>> AuditPath(uint64_t index) const;

 private:
  // levels_[0] are the leaves; a level's odd last node moves up unchanged,
  // which is exactly RFC 6962's split at the largest power of two.
  std::vector<std::vector<std::string>> levels_;
  std::string root_;
};

// How many hashes the audit path of leaf `index` in a tree of `size` leaves
// has (index < size).
size_t AuditPathLength(uint64_t index, uint64_t size);

// A proof that passed ParseInclusionProof: leaf_index < tree_size, and
// exactly AuditPathLength(leaf_index, tree_size) hashes of 32 bytes.
struct InclusionProof {
  uint64_t leaf_index = 0;
  uint64_t tree_size = 0;
  std::vector<std::string> audit_path;
};

// Strict parse, checks in order (InvalidArgument naming the field):
// no unknown fields; tree_size >= 1; leaf_index < tree_size; at most
// kMaxAuditPath hashes; each hash 32 bytes; the path has exactly the length
// the leaf's position in a tree of that size needs (a truncated path and an
// extra node are told apart).
absl::StatusOr<InclusionProof> ParseInclusionProof(const liaison::v1::InclusionProof& wire);
// The same from serialised bytes (InvalidArgument if they do not parse).
absl::StatusOr<InclusionProof> ParseInclusionProof(std::string_view bytes);
liaison::v1::InclusionProof ToProto(const InclusionProof& proof);

// The root the proof yields for `leaf_hash` (RFC 9162 2.1.3.2's algorithm).
// `proof` must come from ParseInclusionProof (its length is trusted).
std::string RootFromInclusionProof(std::string_view leaf_hash, const InclusionProof& proof);

// OK when the proof is for a tree of `root_tree_size` leaves (the size the
// root was signed with: a path alone does not always pin the size) and
// places `leaf_hash` under `root`; InvalidArgument "inclusion..." naming the
// leaf and tree otherwise.
absl::Status VerifyInclusion(std::string_view leaf_hash, const InclusionProof& proof,
                             std::string_view root, uint64_t root_tree_size);

}  // namespace liaison::certs

#endif  // LIAISON_CERTS_MERKLE_H_

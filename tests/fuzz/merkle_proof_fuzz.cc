// Fuzz target: certs::ParseInclusionProof and VerifyInclusion (certs/merkle.h)
// on arbitrary proof bytes. Input: byte 0 picks the tree size (1..64 leaves,
// leaf i = MerkleLeafHash(decimal i)), the rest is a serialised
// liaison.v1.InclusionProof. A refusal must be InvalidArgument; a proof that
// verifies must be exactly the tree's own audit path for its leaf index and
// the tree's size (anything else would be a SHA-256 collision), and the
// tree's own proof for that leaf must always verify.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "certs/merkle.h"
#include "tests/fuzz/quiet_protobuf.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  liaison::fuzz::QuietProtobuf();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace certs = liaison::certs;
  if (size < 1) return 0;
  const uint64_t n = 1 + data[0] % 64;
  std::vector<std::string> leaves;
  for (uint64_t i = 0; i < n; ++i) leaves.push_back(certs::MerkleLeafHash(std::to_string(i)));
  const certs::MerkleTree tree(leaves);
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  absl::StatusOr<certs::InclusionProof> proof = certs::ParseInclusionProof(bytes);
  if (!proof.ok()) {
    if (proof.status().code() != absl::StatusCode::kInvalidArgument) std::abort();
    return 0;
  }
  if (proof->leaf_index >= proof->tree_size) std::abort();
  if (proof->audit_path.size() != certs::AuditPathLength(proof->leaf_index, proof->tree_size)) {
    std::abort();
  }
  const uint64_t index = proof->leaf_index % n;
  const absl::Status verified = certs::VerifyInclusion(leaves[index], *proof, tree.root(), n);
  const absl::StatusOr<std::vector<std::string>> genuine = tree.AuditPath(index);
  if (!genuine.ok()) std::abort();
  const bool is_genuine =
      proof->tree_size == n && proof->leaf_index == index && proof->audit_path == *genuine;
  if (verified.ok() != is_genuine) std::abort();
  if (!verified.ok() && verified.code() != absl::StatusCode::kInvalidArgument) std::abort();
  if (!certs::VerifyInclusion(leaves[index], {index, n, *genuine}, tree.root(), n).ok()) {
    std::abort();
  }
  return 0;
}

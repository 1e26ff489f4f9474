#include "certs/merkle.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "certs/signature.h"

namespace liaison::certs {

std::string MerkleLeafHash(std::string_view data) {
  std::string buf;
  buf.reserve(1 + data.size());
  buf.push_back('\x00');
  buf.append(data);
  return Sha256(buf);
}

std::string MerkleNodeHash(std::string_view left, std::string_view right) {
  std::string buf;
  buf.reserve(1 + left.size() + right.size());
  buf.push_back('\x01');
  buf.append(left);
  buf.append(right);
  return Sha256(buf);
}

MerkleTree::MerkleTree(std::vector<std::string> leaf_hashes) {
  levels_.push_back(std::move(leaf_hashes));
  if (levels_.front().empty()) {
    root_ = Sha256("");
    return;
  }
  while (levels_.back().size() > 1) {
    const std::vector<std::string>& below = levels_.back();
    std::vector<std::string> up;
    up.reserve((below.size() + 1) / 2);
    for (size_t i = 0; i + 1 < below.size(); i += 2) {
      up.push_back(MerkleNodeHash(below[i], below[i + 1]));
    }
    if (below.size() % 2 == 1) up.push_back(below.back());
    levels_.push_back(std::move(up));
  }
  root_ = levels_.back().front();
}

absl::StatusOr<std::vector<std::string>> MerkleTree::AuditPath(uint64_t index) const {
  if (index >= size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("leaf index ", index, " is not below the tree size ", size()));
  }
  std::vector<std::string> path;
  uint64_t i = index;
  for (size_t level = 0; level + 1 < levels_.size(); ++level) {
    const uint64_t sibling = i ^ 1;
    if (sibling < levels_[level].size()) path.push_back(levels_[level][sibling]);
    i >>= 1;
  }
  return path;
}

size_t AuditPathLength(uint64_t index, uint64_t size) {
  size_t length = 0;
  while (size > 1) {
    if ((index ^ 1) < size) ++length;
    index >>= 1;
    size = (size >> 1) + (size & 1);
  }
  return length;
}

absl::StatusOr<InclusionProof> ParseInclusionProof(const liaison::v1::InclusionProof& wire) {
  if (!wire.GetReflection()->GetUnknownFields(wire).empty()) {
    return absl::InvalidArgumentError("inclusion: unknown fields in the proof");
  }
  if (wire.tree_size() == 0) {
    return absl::InvalidArgumentError("inclusion.tree_size: 0; a proof needs at least one leaf");
  }
  if (wire.leaf_index() >= wire.tree_size()) {
    return absl::InvalidArgumentError(absl::StrCat("inclusion.leaf_index: ", wire.leaf_index(),
                                                   " is not below tree_size ", wire.tree_size()));
  }
  if (static_cast<size_t>(wire.audit_path_size()) > kMaxAuditPath) {
    return absl::InvalidArgumentError(absl::StrCat("inclusion.audit_path: ", wire.audit_path_size(),
                                                   " hashes, more than ", kMaxAuditPath));
  }
  for (int i = 0; i < wire.audit_path_size(); ++i) {
    if (wire.audit_path(i).size() != kMerkleHashSize) {
      return absl::InvalidArgumentError(absl::StrCat("inclusion.audit_path[", i,
                                                     "]: ", wire.audit_path(i).size(),
                                                     " bytes, not ", kMerkleHashSize));
    }
  }
  const size_t want = AuditPathLength(wire.leaf_index(), wire.tree_size());
  const size_t have = static_cast<size_t>(wire.audit_path_size());
  if (have != want) {
    return absl::InvalidArgumentError(absl::StrCat(
        "inclusion.audit_path: ", have, " hashes ", have < want ? "(truncated)" : "(extra nodes)",
        "; leaf ", wire.leaf_index(), " of a tree of ", wire.tree_size(), " needs exactly ", want));
  }
  InclusionProof out;
  out.leaf_index = wire.leaf_index();
  out.tree_size = wire.tree_size();
  out.audit_path.assign(wire.audit_path().begin(), wire.audit_path().end());
  return out;
}

absl::StatusOr<InclusionProof> ParseInclusionProof(std::string_view bytes) {
  liaison::v1::InclusionProof wire;
  if (!wire.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::InvalidArgumentError("inclusion: not a liaison.v1.InclusionProof");
  }
  return ParseInclusionProof(wire);
}

liaison::v1::InclusionProof ToProto(const InclusionProof& proof) {
  liaison::v1::InclusionProof out;
  out.set_leaf_index(proof.leaf_index);
  out.set_tree_size(proof.tree_size);
  for (const std::string& h : proof.audit_path) out.add_audit_path(h);
  return out;
}

std::string RootFromInclusionProof(std::string_view leaf_hash, const InclusionProof& proof) {
  // fn walks the leaf's position up the tree, sn the last position of each
  // level; a node that is the last of its level with no right sibling moves
  // up without a hash (the levels where the path has no entry).
  uint64_t fn = proof.leaf_index;
  uint64_t sn = proof.tree_size - 1;
  std::string r(leaf_hash);
  for (const std::string& p : proof.audit_path) {
    if (sn == 0) break;  // longer than needed: ParseInclusionProof refuses it
    if ((fn & 1) == 1 || fn == sn) {
      r = MerkleNodeHash(p, r);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = MerkleNodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return r;
}

absl::Status VerifyInclusion(std::string_view leaf_hash, const InclusionProof& proof,
                             std::string_view root, uint64_t root_tree_size) {
  if (proof.tree_size != root_tree_size) {
    return absl::InvalidArgumentError(absl::StrCat("inclusion.tree_size: ", proof.tree_size,
                                                   ", the signed root covers ", root_tree_size));
  }
  if (RootFromInclusionProof(leaf_hash, proof) != root) {
    return absl::InvalidArgumentError(
        absl::StrCat("inclusion: leaf ", proof.leaf_index, " of a tree of ", proof.tree_size,
                     " does not lead to the signed root (forged or for another batch)"));
  }
  return absl::OkStatus();
}

}  // namespace liaison::certs

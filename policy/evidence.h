// Evidence items as the broker's evidence store recorded them at upload
// (DP-JIT-03). The store computes the SHA-256 of the uploaded blob; the
// policy only compares it with the manifest.
#ifndef LIAISON_POLICY_EVIDENCE_H_
#define LIAISON_POLICY_EVIDENCE_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"

namespace liaison::policy {

struct EvidenceRecord {
  std::string sha256;  // 32 raw bytes, computed by the store at upload
  int64_t size = 0;
};

// Implementations must be safe for concurrent Find() calls; records must
// stay valid during the Evaluate call.
class EvidenceIndex {
 public:
  virtual ~EvidenceIndex() = default;
  // nullptr when no blob was uploaded for (jit_id, item_id).
  virtual const EvidenceRecord* Find(std::string_view jit_id, std::string_view item_id) const = 0;
};

// A plain map. Not synchronised: Add() must not run while any Find() may.
class InMemoryEvidenceIndex final : public EvidenceIndex {
 public:
  void Add(std::string_view jit_id, std::string_view item_id, EvidenceRecord record);
  const EvidenceRecord* Find(std::string_view jit_id, std::string_view item_id) const override;

 private:
  absl::flat_hash_map<std::string, EvidenceRecord> items_;  // key "jit\x1fitem"
};

}  // namespace liaison::policy

#endif  // LIAISON_POLICY_EVIDENCE_H_

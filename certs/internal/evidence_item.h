// The evidence item id rules shared by the evidence stream and the key wrap.
// Folder-private.
#ifndef LIAISON_CERTS_INTERNAL_EVIDENCE_ITEM_H_
#define LIAISON_CERTS_INTERNAL_EVIDENCE_ITEM_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/safe_text.h"
#include "certs/evidence_crypto.h"

namespace liaison::certs::internal {

// 1..255 bytes: one length byte in the chunk AAD and the wrap format.
inline absl::Status CheckEvidenceItemId(std::string_view item_id) {
  if (item_id.empty()) return absl::InvalidArgumentError("evidence item id is empty");
  if (item_id.size() > kMaxEvidenceItemIdBytes) {
    return absl::InvalidArgumentError(absl::StrCat("evidence item id is ", item_id.size(),
                                                   " bytes, at most ", kMaxEvidenceItemIdBytes));
  }
  return absl::OkStatus();
}

// "evidence item 'ITEM-7'" for messages (printable ASCII, cut at 64).
inline std::string EvidenceItemLabel(std::string_view item_id) {
  return absl::StrCat("evidence item '", SafeText(item_id), "'");
}

}  // namespace liaison::certs::internal

#endif  // LIAISON_CERTS_INTERNAL_EVIDENCE_ITEM_H_

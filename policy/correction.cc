#include "policy/correction.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "policy/internal/text.h"

namespace liaison::policy {

absl::StatusOr<std::vector<std::string>> CorrectionRecipients(
    const liaison::v1::Message& correction, const SourceIndex& sources) {
  if (correction.header().kind() != liaison::v1::KIND_CORRECTION || !correction.has_correction() ||
      correction.correction().target_message_ids().empty()) {
    return absl::InvalidArgumentError("correction: not a KIND_CORRECTION with target_message_ids");
  }
  const std::string& sender = correction.header().sender();
  std::vector<std::string> out;
  const auto& targets = correction.correction().target_message_ids();
  for (int i = 0; i < targets.size(); ++i) {
    const SourceRecord* rec = sources.Find(targets[i]);
    if (rec == nullptr) {
      return absl::NotFoundError(absl::StrCat("correction.target_message_ids[", i, "] ",
                                              internal::MessageIdForText(targets[i]),
                                              " is unknown to the broker"));
    }
    if (rec->ref.provider() != sender) {
      return absl::PermissionDeniedError(absl::StrCat("correction.target_message_ids[", i,
                                                      "] was not sent by the correction's sender"));
    }
    for (const std::string& r : rec->delivered_to) {
      if (r != sender) out.push_back(r);
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace liaison::policy

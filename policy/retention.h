// When a message's content must be gone: the earlier of
// header.retention.erase_by and any H3 ERASE_BY restriction (DP-RET-02,
// DP-HC-04). The one place the broker and the rules read it from, so a held
// copy, a delivered copy and a decision all expire at the same moment.
#ifndef LIAISON_POLICY_RETENTION_H_
#define LIAISON_POLICY_RETENTION_H_

#include <string_view>

#include "absl/time/time.h"
#include "liaison/v1/message.pb.h"

namespace liaison::policy {

struct EraseTime {
  // absl::InfiniteFuture() when the message states none (DP-RET-01 rejects
  // such a message; callers must not treat it as "never").
  absl::Time at = absl::InfiniteFuture();
  // "erase_by" or "H3 ERASE_BY": which one decided.
  std::string_view source = "erase_by";
};

EraseTime EraseBy(const liaison::v1::Header& header);

}  // namespace liaison::policy

#endif  // LIAISON_POLICY_RETENTION_H_

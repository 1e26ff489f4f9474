#include "broker/core/offset_commit.h"

#include "base/log.h"

namespace liaison::broker {

absl::Status CommitOffsets(kafka::Consumer& consumer,
                           const std::vector<kafka::Consumer::CommitOffset>& offsets,
                           CommitMode mode, const std::string& group, Observer* observer) {
  if (offsets.empty()) return absl::OkStatus();
  absl::Status s =
      mode == CommitMode::kSync ? consumer.CommitSync(offsets) : consumer.Commit(offsets);
  if (!s.ok()) {
    log::Warning("kafka.commit_failed",
                 {{"group", group}, {"offsets", offsets.size()}, {"error", s.ToString()}});
    if (observer != nullptr) observer->OnCommitFailed(group);
  }
  return s;
}

}  // namespace liaison::broker

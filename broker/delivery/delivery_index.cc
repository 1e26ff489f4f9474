#include "broker/delivery/delivery_index.h"

#include <algorithm>
#include <map>

#include "absl/time/clock.h"
#include "base/log.h"
#include "base/status_macros.h"
#include "connectors/kafka/consumer.h"

namespace liaison::broker {

absl::StatusOr<std::vector<liaison::v1::DeliveryIndexEntry>> FindIndexed(
    const kafka::ClientConfig& config, const std::string& index_topic, std::string_view recipient,
    int32_t partition, int64_t from, int64_t to, absl::Duration timeout, Observer* observer) {
  kafka::ConsumerOptions options;
  options.topics = {index_topic};
  LIAISON_ASSIGN_OR_RETURN(std::unique_ptr<kafka::Consumer> consumer,
                           kafka::Consumer::Create(config, options));
  const absl::Time deadline = absl::Now() + timeout;
  std::vector<liaison::v1::DeliveryIndexEntry> found;
  std::map<int32_t, int64_t> end;   // high watermark per index partition
  std::map<int32_t, int64_t> next;  // next offset to read per index partition
  bool ends_known = false;
  bool complete = false;
  while (absl::Now() < deadline) {
    LIAISON_ASSIGN_OR_RETURN(kafka::PollResult polled,
                             consumer->Poll(absl::Milliseconds(100), 5000));
    if (!ends_known) {
      std::vector<kafka::TopicPartition> assignment = consumer->Assignment();
      if (!assignment.empty()) {
        ends_known = true;
        for (const kafka::TopicPartition& tp : assignment) {
          LIAISON_ASSIGN_OR_RETURN(auto marks, consumer->Watermarks(tp, absl::Seconds(5)));
          end[tp.partition] = marks.second;
          next[tp.partition] = marks.first;
        }
      }
    }
    for (const kafka::Gap& gap : polled.gaps) next[gap.partition] = gap.to;
    for (const kafka::Record& record : polled.records) {
      next[record.partition] = record.offset + 1;
      liaison::v1::DeliveryIndexRecord batch;
      if (!batch.ParseFromString(record.value)) {
        // Only the policy stage writes the index: a bug or tampering.
        log::Error(
            "delivery.unreadable_index_record",
            {{"topic", record.topic}, {"partition", record.partition}, {"offset", record.offset}});
        if (observer != nullptr) observer->OnStateRecordSkipped(record.topic);
        continue;
      }
      for (liaison::v1::DeliveryIndexEntry& entry : *batch.mutable_entries()) {
        if (entry.recipient() == recipient && entry.partition() == partition &&
            entry.offset() >= from && entry.offset() < to) {
          found.push_back(std::move(entry));
        }
      }
    }
    if (ends_known) {
      bool done = true;
      // The consumer's position, not the last record's offset + 1: on real
      // Kafka the index is written in transactions, and a partition ends in
      // a commit marker no record carries.
      for (const auto& [p, e] : end) {
        done = done && std::max(next[p], consumer->Positions({{index_topic, p}})[0]) >= e;
      }
      if (done) {
        complete = true;
        break;
      }
    }
  }
  (void)consumer->Close();
  if (!complete) {
    return absl::DeadlineExceededError("delivery index " + index_topic +
                                       " could not be read to its end");
  }
  return found;
}

}  // namespace liaison::broker

#include "broker/topic_mirror.h"

#include <map>

#include "base/log.h"
#include "base/status_macros.h"

namespace liaison::broker {

TopicMirror::TopicMirror(kafka::ClientConfig config, std::string topic, Apply apply)
    : config_(std::move(config)), topic_(std::move(topic)), apply_(std::move(apply)) {}

TopicMirror::~TopicMirror() { Stop(); }

absl::Status TopicMirror::Start() {
  kafka::ConsumerOptions options;
  options.topics = {topic_};  // reader mode: no group, every partition from the start
  LIAISON_ASSIGN_OR_RETURN(consumer_, kafka::Consumer::Create(config_, options));
  thread_ = std::thread([this] { Loop(); });
  return absl::OkStatus();
}

void TopicMirror::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  if (consumer_ != nullptr) {
    (void)consumer_->Close();
    consumer_.reset();
  }
}

absl::Status TopicMirror::WaitCaughtUp(absl::Duration timeout) {
  if (!caught_up_.WaitForNotificationWithTimeout(timeout)) {
    return absl::DeadlineExceededError("topic " + topic_ + " not read to its end within " +
                                       absl::FormatDuration(timeout));
  }
  return absl::OkStatus();
}

void TopicMirror::Loop() {
  // The end each partition had when we started: once every partition has
  // been read up to it, the in-memory state reflects everything written
  // before this node started.
  std::map<int32_t, int64_t> target;
  std::map<int32_t, int64_t> next;
  bool targets_known = false;
  int empty_polls_after_targets = 0;
  while (!stop_) {
    absl::StatusOr<kafka::PollResult> polled = consumer_->Poll(absl::Milliseconds(100));
    if (!polled.ok()) {
      log::Error("mirror.poll_failed", {{"topic", topic_}, {"error", polled.status().ToString()}});
      continue;
    }
    if (!targets_known) {
      std::vector<kafka::TopicPartition> assignment = consumer_->Assignment();
      if (!assignment.empty()) {
        targets_known = true;
        for (const kafka::TopicPartition& tp : assignment) {
          absl::StatusOr<std::pair<int64_t, int64_t>> marks =
              consumer_->Watermarks(tp, absl::Seconds(5));
          if (!marks.ok()) {
            targets_known = false;
            break;
          }
          target[tp.partition] = marks->second;
          if (!next.count(tp.partition)) next[tp.partition] = marks->first;
        }
      }
    }
    for (const kafka::Gap& gap : polled->gaps) {
      log::Error("mirror.gap", {{"topic", gap.topic}, {"partition", gap.partition},
                                {"from", gap.from}, {"to", gap.to}});
      next[gap.partition] = std::max(next[gap.partition], gap.to);
    }
    for (const kafka::Record& record : polled->records) {
      apply_(record);
      next[record.partition] = record.offset + 1;
    }
    if (targets_known && !caught_up_.HasBeenNotified()) {
      bool done = true;
      for (const auto& [partition, end] : target) {
        if (next[partition] < end) done = false;
      }
      // A compacted partition can end in offsets that no longer exist: after
      // a few empty polls, the end has been reached.
      if (polled->records.empty()) ++empty_polls_after_targets;
      if (done || empty_polls_after_targets >= 5) caught_up_.Notify();
    }
  }
}

}  // namespace liaison::broker

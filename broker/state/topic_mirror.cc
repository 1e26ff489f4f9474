#include "broker/state/topic_mirror.h"

#include <algorithm>
#include <map>

#include "base/log.h"
#include "base/status_macros.h"

namespace liaison::broker {

namespace {

std::string Names(const std::map<std::string, TopicMirror::Apply>& topics) {
  std::string out;
  for (const auto& [name, unused] : topics) out += (out.empty() ? "" : ",") + name;
  return out;
}

}  // namespace

TopicMirror::TopicMirror(kafka::ClientConfig config, std::string topic, Apply apply)
    : TopicMirror(std::move(config), {{std::move(topic), std::move(apply)}}) {}

TopicMirror::TopicMirror(kafka::ClientConfig config,
                         std::vector<std::pair<std::string, Apply>> topics)
    : config_(std::move(config)), topics_(topics.begin(), topics.end()) {}

TopicMirror::~TopicMirror() { Stop(); }

absl::Status TopicMirror::Start() {
  kafka::ConsumerOptions options;
  // Reader mode: no group, every partition from the start.
  for (const auto& [name, unused] : topics_) options.topics.push_back(name);
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
    return absl::DeadlineExceededError("topics " + Names(topics_) +
                                       " not read to their end within " +
                                       absl::FormatDuration(timeout));
  }
  return absl::OkStatus();
}

void TopicMirror::Loop() {
  // The end each partition had when we started: once every partition has
  // been read up to it, the in-memory state reflects everything written
  // before this node started.
  using Key = std::pair<std::string, int32_t>;
  std::map<Key, int64_t> target;
  std::map<Key, int64_t> next;
  bool targets_known = false;
  int empty_polls_after_targets = 0;
  while (!stop_) {
    absl::StatusOr<kafka::PollResult> polled = consumer_->Poll(absl::Milliseconds(100));
    if (!polled.ok()) {
      log::Error("mirror.poll_failed",
                 {{"topics", Names(topics_)}, {"error", polled.status().ToString()}});
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
          const Key key{tp.topic, tp.partition};
          target[key] = marks->second;
          if (!next.count(key)) next[key] = marks->first;
        }
      }
    }
    for (const kafka::Gap& gap : polled->gaps) {
      log::Error(
          "mirror.gap",
          {{"topic", gap.topic}, {"partition", gap.partition}, {"from", gap.from}, {"to", gap.to}});
      int64_t& at = next[{gap.topic, gap.partition}];
      at = std::max(at, gap.to);
    }
    for (const kafka::Record& record : polled->records) {
      auto it = topics_.find(record.topic);
      if (it != topics_.end()) it->second(record);
      next[{record.topic, record.partition}] = record.offset + 1;
    }
    if (targets_known && !caught_up_.HasBeenNotified()) {
      bool done = true;
      for (const auto& [key, end] : target) {
        // The position passes transaction markers (no record carries them).
        if (std::max(next[key], consumer_->Position({key.first, key.second})) < end) done = false;
      }
      // A compacted partition can end in offsets that no longer exist: after
      // a few empty polls, the end has been reached.
      if (polled->records.empty()) ++empty_polls_after_targets;
      if (done || empty_polls_after_targets >= 5) caught_up_.Notify();
    }
  }
}

}  // namespace liaison::broker

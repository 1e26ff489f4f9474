#include "broker/state/topic_mirror.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
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
  partitions_ = consumer_->Assignment();
  {
    absl::MutexLock lock(&barrier_mu_);
    applied_.assign(partitions_.size(), 0);
  }
  thread_ = std::thread([this] { Loop(); });
  return absl::OkStatus();
}

void TopicMirror::Stop() {
  {
    absl::MutexLock lock(&barrier_mu_);
    barrier_stop_ = true;
    barrier_cv_.SignalAll();
  }
  if (barrier_thread_.joinable()) barrier_thread_.join();
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  if (consumer_ != nullptr) {
    (void)consumer_->Close();
    consumer_.reset();
  }
}

absl::Status TopicMirror::WaitCaughtUp(absl::Duration timeout) {
  const absl::Time start = absl::Now();
  const absl::Time deadline = start + timeout;
  // A long read (large state topics) says how far it got every 10 s.
  while (!caught_up_.WaitForNotificationWithTimeout(
      std::min(absl::Seconds(10), std::max(absl::ZeroDuration(), deadline - absl::Now())))) {
    std::string behind;
    int64_t records_behind = 0;
    {
      absl::MutexLock lock(&barrier_mu_);
      if (start_ends_.empty()) {
        behind = "their ends could not be learnt from Kafka";
      } else {
        behind = Behind(start_ends_);
        for (size_t i = 0; i < start_ends_.size(); ++i) {
          records_behind += std::max<int64_t>(0, start_ends_[i] - applied_[i]);
        }
      }
    }
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("topics ", Names(topics_), " not read to their end within ",
                       absl::FormatDuration(timeout), " (", behind, ")"));
    }
    log::Info("mirror.catching_up", {{"topics", Names(topics_)},
                                     {"offsets_behind", records_behind},
                                     {"first_behind", behind},
                                     {"waited_s", absl::ToInt64Seconds(absl::Now() - start)}});
  }
  return absl::OkStatus();
}

void TopicMirror::Loop() {
  // The end each partition had when we started: once every partition has
  // been read up to it, the in-memory state reflects everything written
  // before this node started.
  std::map<Key, int64_t> target;
  std::map<Key, int64_t> next;
  bool targets_known = false;
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
        if (targets_known) {
          absl::MutexLock lock(&barrier_mu_);
          start_ends_.assign(partitions_.size(), 0);
          for (size_t i = 0; i < partitions_.size(); ++i) {
            auto end = target.find({partitions_[i].topic, partitions_[i].partition});
            if (end != target.end()) start_ends_[i] = end->second;
          }
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
    // The positions pass transaction markers (no record carries them).
    PublishApplied(next);
    // Caught up only when every partition is applied to the end it had at
    // the start: positions pass transaction markers and aborted records, so
    // they reach it (a record a dead node's open transaction holds is waited
    // for until Kafka aborts it). Never on a guess such as a few empty polls:
    // a partition whose leader is slow or moving answers nothing for seconds,
    // and a node that served with its books half read would forget accepted
    // ids, acknowledgements, sources and consents.
    if (targets_known && !caught_up_.HasBeenNotified()) {
      bool done = false;
      {
        absl::MutexLock lock(&barrier_mu_);
        done = Behind(start_ends_).empty();
      }
      if (done) caught_up_.Notify();
    }
  }
}

std::vector<int64_t> TopicMirror::PublishApplied(const std::map<Key, int64_t>& next) {
  // Positions after the records above were applied: a position counts
  // only records this thread has already handed to `apply`.
  const std::vector<int64_t> positions = consumer_->Positions(partitions_);
  absl::MutexLock lock(&barrier_mu_);
  bool moved = false;
  for (size_t i = 0; i < partitions_.size(); ++i) {
    int64_t at = positions[i];
    auto it = next.find({partitions_[i].topic, partitions_[i].partition});
    if (it != next.end()) at = std::max(at, it->second);
    if (at > applied_[i]) {
      applied_[i] = at;
      moved = true;
    }
  }
  if (moved && !waiting_.empty()) barrier_cv_.SignalAll();
  return applied_;
}

std::string TopicMirror::Behind(const std::vector<int64_t>& ends) const {
  for (size_t i = 0; i < partitions_.size() && i < ends.size(); ++i) {
    if (applied_[i] < ends[i]) {
      return absl::StrCat(partitions_[i].topic, " partition ", partitions_[i].partition,
                          " read to offset ", applied_[i], " of ", ends[i]);
    }
  }
  return "";
}

void TopicMirror::AfterReadToEnd(absl::Duration timeout, std::function<void(absl::Status)> done) {
  {
    absl::MutexLock lock(&barrier_mu_);
    if (!barrier_stop_ && consumer_ != nullptr) {
      asked_.push_back({absl::Now() + timeout, std::move(done), {}});
      if (!barrier_started_) {
        barrier_started_ = true;
        barrier_thread_ = std::thread([this] { BarrierLoop(); });
      }
      barrier_cv_.SignalAll();
      return;
    }
  }
  done(absl::UnavailableError(
      absl::StrCat("topics ", Names(topics_), ": the node's reader of them is stopped")));
}

absl::Status TopicMirror::ReadToEnd(absl::Duration timeout) {
  // Shared with `done`, which may run after a timed-out caller returned.
  struct Result {
    absl::Notification done;
    absl::Status status;
  };
  auto result = std::make_shared<Result>();
  AfterReadToEnd(timeout, [result](absl::Status s) {
    result->status = std::move(s);
    result->done.Notify();
  });
  result->done.WaitForNotification();  // AfterReadToEnd answers by `timeout`
  return result->status;
}

void TopicMirror::BarrierLoop() {
  using Done = std::pair<std::function<void(absl::Status)>, absl::Status>;
  absl::MutexLock lock(&barrier_mu_);
  while (true) {
    std::vector<Done> calls;
    if (barrier_stop_) {
      for (std::vector<Barrier>* list : {&asked_, &waiting_}) {
        for (Barrier& b : *list) {
          calls.emplace_back(std::move(b.done), absl::UnavailableError(absl::StrCat(
                                                    "topics ", Names(topics_),
                                                    ": the node's reader of them stopped")));
        }
        list->clear();
      }
      barrier_mu_.Unlock();
      for (Done& call : calls) call.first(call.second);
      barrier_mu_.Lock();
      return;
    }
    if (!asked_.empty()) {
      // Every call waiting now started before this query: the ends it
      // returns are at or after each call's start.
      std::vector<Barrier> asked = std::move(asked_);
      asked_.clear();
      absl::Time earliest = absl::InfiniteFuture();
      for (const Barrier& b : asked) earliest = std::min(earliest, b.deadline);
      barrier_mu_.Unlock();
      absl::StatusOr<std::vector<int64_t>> ends = consumer_->EndOffsets(
          partitions_, std::max(absl::Milliseconds(100), earliest - absl::Now()));
      barrier_mu_.Lock();
      for (Barrier& b : asked) {
        if (ends.ok()) {
          b.ends = *ends;
          waiting_.push_back(std::move(b));
        } else {
          calls.emplace_back(std::move(b.done),
                             absl::UnavailableError(absl::StrCat("topics ", Names(topics_),
                                                                 ": their ends could not be "
                                                                 "learnt from Kafka: ",
                                                                 ends.status().message())));
        }
      }
    }
    const absl::Time now = absl::Now();
    absl::Time wake = now + absl::Seconds(1);
    for (auto it = waiting_.begin(); it != waiting_.end();) {
      const std::string behind = Behind(it->ends);
      if (behind.empty()) {
        calls.emplace_back(std::move(it->done), absl::OkStatus());
      } else if (now >= it->deadline) {
        calls.emplace_back(std::move(it->done), absl::UnavailableError(absl::StrCat(
                                                    "topics ", Names(topics_),
                                                    ": this node has not read them to their "
                                                    "end in time (",
                                                    behind, ")")));
      } else {
        wake = std::min(wake, it->deadline);
        ++it;
        continue;
      }
      it = waiting_.erase(it);
    }
    if (!calls.empty()) {
      barrier_mu_.Unlock();
      for (Done& call : calls) call.first(call.second);
      barrier_mu_.Lock();
      continue;
    }
    if (asked_.empty() && !barrier_stop_) {
      barrier_cv_.WaitWithTimeout(&barrier_mu_, std::max(absl::ZeroDuration(), wake - now));
    }
  }
}

}  // namespace liaison::broker

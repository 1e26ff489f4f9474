#include "broker/delivery/delivery_hub.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/log.h"
#include "broker/core/offset_commit.h"
#include "broker/delivery/subscription.h"

namespace liaison::broker {
namespace {

constexpr size_t kMaxRecordsPerPoll = 500;

}  // namespace

DeliveryHub::DeliveryHub(DeliveryHubOptions options) : options_(std::move(options)) {
  thread_ = std::thread([this] { Loop(); });
}

DeliveryHub::~DeliveryHub() { Shutdown(); }

void DeliveryHub::Attach(std::shared_ptr<Subscription> stream) {
  absl::MutexLock lock(&mu_);
  if (shutdown_) {
    stream->EndStream(absl::UnavailableError("the node is stopping; reconnect to another"));
    stream->Finish();
    return;
  }
  arriving_.push_back(std::move(stream));
}

void DeliveryHub::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    shutdown_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

std::string DeliveryHub::EndpointOf(const std::string& topic) const {
  const std::string prefix = options_.topics.Deliver("");
  if (!absl::StartsWith(topic, prefix)) return "";
  return topic.substr(prefix.size());
}

void DeliveryHub::Loop() {
  while (true) {
    std::vector<std::shared_ptr<Subscription>> came;
    bool shutting_down = false;
    {
      absl::MutexLock lock(&mu_);
      if (consumer_ == nullptr && endpoints_.empty()) {
        // Nothing to read: no consumer, no polling, until a stream comes.
        auto something = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
          return shutdown_ || !arriving_.empty();
        };
        mu_.AwaitWithTimeout(absl::Condition(&something), absl::Seconds(1));
      }
      came.swap(arriving_);
      shutting_down = shutdown_;
    }
    if (consumer_ == nullptr && !came.empty() && !shutting_down) {
      // Let the streams that come together join together.
      absl::SleepFor(options_.gather);
      absl::MutexLock lock(&mu_);
      for (std::shared_ptr<Subscription>& s : arriving_) came.push_back(std::move(s));
      arriving_.clear();
    }
    Adopt(std::move(came));
    if (shutting_down) {
      // Streams still open are told to go elsewhere; all are then retired.
      for (auto& [endpoint, streams] : endpoints_) {
        for (const std::shared_ptr<Subscription>& s : streams) {
          s->EndStream(absl::UnavailableError("the node is stopping; reconnect to another"));
          s->Stop();
        }
      }
      const absl::Time deadline = absl::Now() + options_.settle_timeout;
      while (absl::Now() < deadline) {
        bool settled = true;
        for (auto& [endpoint, streams] : endpoints_) {
          for (const std::shared_ptr<Subscription>& s : streams) settled = settled && s->Settled();
        }
        if (settled) break;
        absl::SleepFor(absl::Milliseconds(10));
      }
      Retire(/*shutting_down=*/true);
      closing_ = true;
      if (consumer_ != nullptr) (void)consumer_->Close();
      consumer_.reset();
      return;
    }
    Retire(/*shutting_down=*/false);
    if (endpoints_.empty() && consumer_ == nullptr) continue;
    if (!EnsureConsumer()) continue;
    Resubscribe();
    HandOut();
    // Commits go every commit_interval, not on every turn: fewer requests,
    // and fewer that meet a rebalance (the mock answers one that does with
    // ILLEGAL_GENERATION, and librdkafka then drops the whole assignment).
    if (absl::Now() - last_commit_ >= options_.commit_interval) {
      last_commit_ = absl::Now();
      CommitAll(/*sync=*/false);
    }
    ResumeWhereRoom();

    absl::StatusOr<kafka::PollResult> polled =
        consumer_->Poll(options_.poll_wait, kMaxRecordsPerPoll);
    if (!polled.ok()) {
      log::Error("delivery_hub.poll_failed", {{"error", polled.status().ToString()}});
      EndAll(absl::UnavailableError("delivery stream failed; reconnect"));
      continue;
    }
    for (const kafka::TopicPartition& tp : polled->revoked) {
      // Kafka moved one of a lingering endpoint's partitions in an orderly
      // rebalance: another node reads the endpoint now; the rest goes there
      // too. (A lost assignment comes back here.)
      if (!polled->lost) lingering_.erase(EndpointOf(tp.topic));
      OnRevoked(tp);
    }
    for (const kafka::TopicPartition& tp : polled->assigned) OnAssigned(tp);
    if (!polled->assigned.empty()) HandOut();
    for (const kafka::Gap& gap : polled->gaps) {
      auto it = owned_.find({gap.topic, gap.partition});
      if (it == owned_.end()) continue;
      Owned& owned = it->second;
      if (owned.held_from < 0 && owned.stream != nullptr && !owned.stream->Stopping()) {
        owned.stream->Lost(gap);
      } else {
        // Read again from before the gap: Kafka reports it again then.
        Hold(it->first, owned,
             owned.held_from < 0 ? gap.from : std::min(owned.held_from, gap.from));
      }
    }
    for (kafka::Record& record : polled->records) Dispatch(std::move(record));
  }
}

void DeliveryHub::Adopt(std::vector<std::shared_ptr<Subscription>> came) {
  for (std::shared_ptr<Subscription>& s : came) {
    const std::string endpoint = s->endpoint();
    std::vector<std::shared_ptr<Subscription>>& streams = endpoints_[endpoint];
    streams.push_back(s);
    lingering_.erase(endpoint);
    // The node already reads the endpoint's topic: the stream is ready at
    // once. HandOut gives it the partitions no stream reads; if others of
    // the endpoint read them all, it stands by until one of them ends. (Not
    // read yet: Resubscribe adds the topic, and it is ready when assigned.)
    if (subscribed_.contains(endpoint)) s->Assigned({});
  }
}

void DeliveryHub::HandOut() {
  for (auto& [key, owned] : owned_) {
    if (owned.stream != nullptr) continue;
    owned.stream = LeastLoaded(EndpointOf(key.first));
    if (owned.stream == nullptr) continue;
    owned.stream->Assigned({key.second});
    log::Debug("delivery_hub.handed_out", {{"topic", key.first}, {"partition", key.second}});
  }
}

void DeliveryHub::Retire(bool shutting_down) {
  const absl::Time now = absl::Now();
  for (auto e = endpoints_.begin(); e != endpoints_.end();) {
    std::vector<std::shared_ptr<Subscription>>& streams = e->second;
    for (auto it = streams.begin(); it != streams.end();) {
      std::shared_ptr<Subscription> s = *it;
      if (!s->Stopping()) {
        ++it;
        continue;
      }
      auto [since, inserted] = stopping_since_.try_emplace(s.get(), now);
      if (!shutting_down && !s->Settled()) {
        if (now - since->second < options_.settle_timeout) {
          ++it;
          continue;
        }
        log::Warning("subscribe.acks_pending_at_close", {{"endpoint", e->first}});
      }
      stopping_since_.erase(s.get());
      // The final commit, before any other stream (here or on another node)
      // reads its partitions.
      if (consumer_ != nullptr) {
        (void)CommitOffsets(*consumer_, s->CommitsDue(), CommitMode::kSync,
                            options_.topics.DeliverGroup(e->first), options_.observer);
      }
      it = streams.erase(it);
      for (auto& [key, owned] : owned_) {
        if (owned.stream != s) continue;
        const int64_t resume = s->ResumeOffset(key.second);
        // Released: HandOut gives it to another stream of the endpoint, if
        // any, which reads again from the first item this one left
        // unacknowledged.
        owned.stream = nullptr;
        if (resume >= 0) {
          Hold(key, owned, owned.held_from < 0 ? resume : std::min(owned.held_from, resume));
        }
        log::Debug("delivery_hub.released",
                   {{"topic", key.first}, {"partition", key.second}, {"resume", resume}});
      }
      s->Finish();
      log::Info("subscribe.finished", {{"endpoint", e->first}});
    }
    if (streams.empty()) {
      if (!shutting_down) lingering_[e->first] = now + options_.linger;
      e = endpoints_.erase(e);
    } else {
      ++e;
    }
  }
}

bool DeliveryHub::EnsureConsumer() {
  if (consumer_ != nullptr) return true;
  kafka::ConsumerOptions options;
  options.group_id = options_.topics.DeliverGroup("");
  for (const auto& [endpoint, streams] : endpoints_) {
    options.topics.push_back(options_.topics.Deliver(endpoint));
  }
  // A network that ran a consumer per stream committed in a group per
  // endpoint: where the shared group has no offset yet and the topic's
  // start is gone, reading starts where that group stopped (not a loss).
  options.previous_group = [this](const std::string& topic) {
    return options_.topics.WithSharedDeliveryGroup(false).DeliverGroup(EndpointOf(topic));
  };
  options.session_timeout_ms = options_.session_timeout_ms;
  options.heartbeat_interval_ms = options_.heartbeat_interval_ms;
  options.cooperative = true;
  // Before partitions go to another node: what is done is committed, so the
  // next reader does not hand acknowledged items out again.
  options.before_revoke = [this](const std::vector<kafka::TopicPartition>&) {
    CommitAll(/*sync=*/true);
  };
  absl::StatusOr<std::unique_ptr<kafka::Consumer>> consumer =
      kafka::Consumer::Create(options_.kafka, options);
  if (!consumer.ok()) {
    log::Error("delivery_hub.consumer_failed", {{"error", consumer.status().ToString()}});
    EndAll(absl::UnavailableError("delivery topic unavailable; reconnect later"));
    return false;
  }
  consumer_ = *std::move(consumer);
  subscribed_.clear();
  for (const auto& [endpoint, streams] : endpoints_) subscribed_.insert(endpoint);
  return true;
}

void DeliveryHub::Resubscribe() {
  std::set<std::string> endpoints;
  for (const auto& [endpoint, streams] : endpoints_) endpoints.insert(endpoint);
  const absl::Time now = absl::Now();
  for (auto it = lingering_.begin(); it != lingering_.end();) {
    if (it->second <= now) {
      it = lingering_.erase(it);
    } else {
      endpoints.insert(it->first);
      ++it;
    }
  }
  if (endpoints == subscribed_) return;
  std::vector<std::string> topics;
  for (const std::string& endpoint : endpoints) topics.push_back(options_.topics.Deliver(endpoint));
  if (absl::Status s = consumer_->Subscribe(topics); !s.ok()) {
    log::Error("delivery_hub.subscribe_failed", {{"error", s.ToString()}});
    return;
  }
  // Partitions of topics dropped have no stream since Retire; the
  // rebalance revokes them.
  subscribed_ = std::move(endpoints);
  log::Info("delivery_hub.subscribed", {{"topics", static_cast<int64_t>(topics.size())}});
}

void DeliveryHub::EndAll(const absl::Status& status) {
  // The consumer is unusable: every stream ends (the clients reconnect,
  // here or elsewhere); nothing was committed beyond what is durable.
  for (auto& [endpoint, streams] : endpoints_) {
    for (const std::shared_ptr<Subscription>& s : streams) {
      s->EndStream(status);
      s->Stop();
    }
  }
  if (consumer_ != nullptr) {
    Retire(/*shutting_down=*/true);
    closing_ = true;
    (void)consumer_->Close();
    consumer_.reset();
    closing_ = false;
  } else {
    for (auto& [endpoint, streams] : endpoints_) {
      for (const std::shared_ptr<Subscription>& s : streams) s->Finish();
    }
  }
  endpoints_.clear();
  owned_.clear();
  subscribed_.clear();
  lingering_.clear();
  stopping_since_.clear();
}

void DeliveryHub::CommitAll(bool sync) {
  // Closing: the final commits are made (Retire); the revoke that closing
  // brings commits nothing more.
  if (consumer_ == nullptr || closing_) return;
  std::vector<kafka::Consumer::CommitOffset> commits;
  for (const auto& [endpoint, streams] : endpoints_) {
    for (const std::shared_ptr<Subscription>& s : streams) {
      std::vector<kafka::Consumer::CommitOffset> due = s->CommitsDue();
      commits.insert(commits.end(), due.begin(), due.end());
    }
  }
  (void)CommitOffsets(*consumer_, commits, sync ? CommitMode::kSync : CommitMode::kAsync,
                      options_.topics.DeliverGroup(""), options_.observer);
}

void DeliveryHub::ResumeWhereRoom() {
  for (auto& [key, owned] : owned_) {
    if (owned.held_from < 0 || owned.stream == nullptr || owned.stream->Stopping() ||
        owned.stream->Room() == 0) {
      continue;
    }
    const kafka::TopicPartition tp{key.first, key.second};
    absl::Status s = consumer_->Seek(tp, owned.held_from);
    if (s.ok()) s = consumer_->Resume({tp});
    if (!s.ok()) {
      log::Warning("delivery_hub.resume_failed",
                   {{"topic", key.first}, {"partition", key.second}, {"error", s.ToString()}});
      continue;
    }
    owned.held_from = -1;
    log::Debug("delivery_hub.resumed", {{"topic", key.first}, {"partition", key.second}});
  }
}

void DeliveryHub::Hold(const Key& key, Owned& owned, int64_t from) {
  const bool was_held = owned.held_from >= 0;
  owned.held_from = from;
  log::Debug("delivery_hub.held", {{"topic", key.first},
                                   {"partition", key.second},
                                   {"from", from},
                                   {"was_held", was_held},
                                   {"stream", owned.stream != nullptr}});
  if (was_held || consumer_ == nullptr) return;
  if (absl::Status s = consumer_->Pause({{key.first, key.second}}); !s.ok()) {
    log::Warning("delivery_hub.pause_failed",
                 {{"topic", key.first}, {"partition", key.second}, {"error", s.ToString()}});
  }
}

std::shared_ptr<Subscription> DeliveryHub::LeastLoaded(const std::string& endpoint) const {
  auto e = endpoints_.find(endpoint);
  if (e == endpoints_.end()) return nullptr;
  std::shared_ptr<Subscription> best;
  size_t best_count = 0;
  for (const std::shared_ptr<Subscription>& s : e->second) {
    if (s->Stopping()) continue;
    size_t count = 0;
    for (const auto& [key, owned] : owned_) count += owned.stream == s ? 1 : 0;
    if (best == nullptr || count < best_count) {
      best = s;
      best_count = count;
    }
  }
  return best;
}

void DeliveryHub::OnAssigned(const kafka::TopicPartition& tp) {
  // New to the node, read from its committed offset; HandOut gives it to a
  // stream of its endpoint.
  owned_[{tp.topic, tp.partition}] = Owned{};
  log::Debug("delivery_hub.assigned", {{"topic", tp.topic}, {"partition", tp.partition}});
}

void DeliveryHub::OnRevoked(const kafka::TopicPartition& tp) {
  auto it = owned_.find({tp.topic, tp.partition});
  log::Debug("delivery_hub.revoked",
             {{"topic", tp.topic}, {"partition", tp.partition}, {"owned", it != owned_.end()}});
  if (it == owned_.end()) return;
  if (it->second.stream != nullptr) it->second.stream->Revoked({tp.partition});
  owned_.erase(it);
}

void DeliveryHub::Dispatch(kafka::Record record) {
  auto it = owned_.find({record.topic, record.partition});
  if (it == owned_.end()) return;  // not ours (any more)
  Owned& owned = it->second;
  if (owned.held_from >= 0) {
    // Fetched before the pause took effect: read again on resume.
    owned.held_from = std::min(owned.held_from, record.offset);
    return;
  }
  if (owned.stream == nullptr || owned.stream->Stopping() || owned.stream->Room() == 0) {
    Hold(it->first, owned, record.offset);
    return;
  }
  owned.stream->Deliver(std::move(record));
}

}  // namespace liaison::broker

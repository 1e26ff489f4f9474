#include "broker/operators/flow_log.h"

#include <algorithm>

namespace liaison::broker {

FlowLog::FlowLog(const Clock* clock, Options options)
    : clock_(clock), options_(options), started_(clock->Now()) {}

void FlowLog::Add(const FlowEvent& event) {
  const absl::Time now = clock_->Now();
  absl::MutexLock lock(&mu_);
  FlowRecord record;
  record.seq = ++seq_;
  record.event = event;
  record.observed_at = now;

  const absl::Time start =
      absl::UnixEpoch() + absl::Floor(now - absl::UnixEpoch(), options_.bucket);
  if (buckets_.empty() || buckets_.back().start < start) {
    buckets_.push_back(Bucket{start, {}, {}, 0});
  }
  // An event whose clock reading is older than the newest bucket (threads
  // race) is counted in the newest bucket.
  Bucket& b = buckets_.back();
  std::pair<int64_t, int64_t>& flow =
      b.flows[FlowKey{event.sender, event.recipient, event.kind, event.outcome}];
  ++flow.first;
  flow.second += static_cast<int64_t>(event.bytes);
  for (const std::string& rule : event.rule_ids) ++b.rules[RuleKey{rule, event.outcome}];
  ++b.decisions;
  Prune(now);

  for (const auto& [id, listener] : listeners_) listener(record);
  ring_.push_back(std::move(record));
  while (ring_.size() > options_.capacity) ring_.pop_front();
}

void FlowLog::Prune(absl::Time now) {
  while (!buckets_.empty() && buckets_.front().start + options_.bucket <= now - options_.horizon) {
    buckets_.pop_front();
  }
}

std::vector<FlowRecord> FlowLog::Recent(size_t max) const {
  absl::MutexLock lock(&mu_);
  const size_t n = std::min(max, ring_.size());
  return std::vector<FlowRecord>(ring_.end() - static_cast<std::ptrdiff_t>(n), ring_.end());
}

std::vector<FlowRecord> FlowLog::Since(uint64_t after, size_t max) const {
  absl::MutexLock lock(&mu_);
  std::vector<FlowRecord> out;
  auto it = std::lower_bound(ring_.begin(), ring_.end(), after + 1,
                             [](const FlowRecord& r, uint64_t seq) { return r.seq < seq; });
  for (; it != ring_.end() && out.size() < max; ++it) out.push_back(*it);
  return out;
}

uint64_t FlowLog::last_seq() const {
  absl::MutexLock lock(&mu_);
  return seq_;
}

bool FlowLog::WaitAfter(uint64_t after, absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto ready = [this, after]()
                   ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return closed_ || seq_ > after; };
  mu_.AwaitWithTimeout(absl::Condition(&ready), timeout);
  return !closed_ && seq_ > after;
}

FlowWindowStats FlowLog::Stats(absl::Duration window) const {
  const absl::Time now = clock_->Now();
  FlowWindowStats out;
  out.window = window;
  window = std::min(window, options_.horizon);
  const absl::Time from = now - window;
  std::map<FlowKey, std::pair<int64_t, int64_t>> flows;
  std::map<RuleKey, int64_t> rules;
  absl::Time first = now;
  {
    absl::MutexLock lock(&mu_);
    for (const Bucket& b : buckets_) {
      if (b.start + options_.bucket <= from) continue;
      first = std::min(first, b.start);
      for (const auto& [key, value] : b.flows) {
        flows[key].first += value.first;
        flows[key].second += value.second;
      }
      for (const auto& [key, value] : b.rules) rules[key] += value;
      out.decisions += b.decisions;
    }
  }
  // Whole buckets are counted: the figures may cover a little more than the
  // window, and never more than the node has been up.
  const absl::Time bucket_from =
      absl::UnixEpoch() + absl::Floor(from - absl::UnixEpoch(), options_.bucket);
  out.covered = now - std::max(std::min(first, bucket_from), started_);
  for (const auto& [key, value] : flows) {
    FlowWindowStats::Flow f;
    f.sender = std::get<0>(key);
    f.recipient = std::get<1>(key);
    f.kind = static_cast<liaison::v1::Kind>(std::get<2>(key));
    f.outcome = static_cast<liaison::v1::Outcome>(std::get<3>(key));
    f.count = value.first;
    f.bytes = value.second;
    out.flows.push_back(std::move(f));
  }
  for (const auto& [key, count] : rules) {
    out.rules.push_back(
        {std::get<0>(key), static_cast<liaison::v1::Outcome>(std::get<1>(key)), count});
  }
  return out;
}

uint64_t FlowLog::AddListener(Listener listener) {
  absl::MutexLock lock(&mu_);
  const uint64_t id = next_listener_++;
  listeners_.emplace(id, std::move(listener));
  return id;
}

void FlowLog::RemoveListener(uint64_t id) {
  absl::MutexLock lock(&mu_);
  listeners_.erase(id);
}

void FlowLog::Close() {
  absl::MutexLock lock(&mu_);
  closed_ = true;
}

bool FlowLog::closed() const {
  absl::MutexLock lock(&mu_);
  return closed_;
}

}  // namespace liaison::broker

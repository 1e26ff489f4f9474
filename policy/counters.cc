#include "policy/counters.h"
#include "absl/strings/string_view.h"

#include <algorithm>

#include "policy/internal/message_view.h"
#include "policy/internal/text.h"

namespace liaison::policy {

int64_t Usage::get(Metric m) const {
  switch (m) {
    case Metric::kPersons:
      return persons;
    case Metric::kQueries:
      return queries;
    case Metric::kBytes:
      return bytes;
    case Metric::kDerogations:
      return derogations;
    case Metric::kLinkageQueries:
      return linkage_queries;
  }
  return 0;
}

Usage UsageOf(const liaison::v1::Message& message, size_t message_bytes,
              liaison::v1::TransferKind transfer_kind) {
  Usage u;
  u.persons = internal::CountPersons(message);
  u.queries = message.has_linkage_query() ? message.linkage_query().identifiers_size() : 0;
  u.bytes = static_cast<int64_t>(message_bytes);
  u.derogations = transfer_kind == liaison::v1::TRANSFER_KIND_DEROGATION_38 ? 1 : 0;
  return u;
}

SlidingWindowCounters::SlidingWindowCounters(absl::Duration horizon, absl::Duration granularity)
    : horizon_(horizon),
      granularity_(granularity > absl::ZeroDuration() ? granularity : absl::Seconds(1)) {}

int64_t SlidingWindowCounters::BucketOf(absl::Time t) const {
  const int64_t ns = absl::ToUnixNanos(t);
  const int64_t g = absl::ToInt64Nanoseconds(granularity_);
  int64_t q = ns / g;
  if (ns % g != 0 && ns < 0) --q;  // floor division
  return q;
}

void SlidingWindowCounters::Record(std::string_view sender, std::string_view recipient,
                                   const Usage& usage, absl::Time now) {
  const int64_t b = BucketOf(now);
  absl::MutexLock lock(&mu_);
  Series& s = series_[internal::AV(sender)][internal::AV(recipient)];
  if (s.buckets.empty() || s.buckets.back().start < b) {
    Bucket nb{b, s.buckets.empty() ? s.dropped : s.buckets.back().cum};
    s.buckets.push_back(nb);
  }
  Bucket& last = s.buckets.back();
  for (int m = 0; m < kMetricCount; ++m) last.cum[m] += usage.get(static_cast<Metric>(m));
  // Forget what no window can reach any more.
  const int64_t oldest = BucketOf(now - horizon_);
  while (s.buckets.size() > 1 && s.buckets.front().start < oldest) {
    s.dropped = s.buckets.front().cum;
    s.buckets.pop_front();
  }
}

int64_t SlidingWindowCounters::Sum(std::string_view sender, std::string_view recipient,
                                   Metric metric, absl::Duration window, absl::Time now) const {
  const int m = static_cast<int>(metric);
  const int64_t hi = BucketOf(now);           // include buckets with start <= hi
  const int64_t lo = BucketOf(now - window);  // exclude buckets with start <= lo
  absl::MutexLock lock(&mu_);
  auto outer = series_.find(internal::AV(sender));
  if (outer == series_.end()) return 0;
  auto inner = outer->second.find(internal::AV(recipient));
  if (inner == outer->second.end()) return 0;
  const Series& s = inner->second;
  auto by_start = [](const Bucket& bucket, int64_t v) { return bucket.start <= v; };
  // First bucket with start > hi / start > lo.
  auto end_it = std::lower_bound(s.buckets.begin(), s.buckets.end(), hi, by_start);
  auto begin_it = std::lower_bound(s.buckets.begin(), s.buckets.end(), lo, by_start);
  if (end_it == s.buckets.begin()) return 0;
  const int64_t upto = std::prev(end_it)->cum[m];
  const int64_t before = begin_it == s.buckets.begin() ? s.dropped[m] : std::prev(begin_it)->cum[m];
  return std::max<int64_t>(0, upto - before);
}

}  // namespace liaison::policy

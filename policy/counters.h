// Sliding-window volumes per sender -> recipient, for DP-BULK-01 (persons,
// linkage queries, bytes) and the DP-XFER-03 repeat check (derogation
// transfers).
//
// `Counters` is the read interface the rules use. `SlidingWindowCounters`
// is a pure in-memory implementation the broker can use directly: it never
// reads a clock (every call takes `now`), keeps per-pair buckets of
// `granularity` with running totals, answers a windowed sum in O(log n)
// without allocating, and forgets buckets older than `horizon`.
#ifndef LIAISON_POLICY_COUNTERS_H_
#define LIAISON_POLICY_COUNTERS_H_

#include <array>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "liaison/v1/message.pb.h"

namespace liaison::policy {

enum class Metric : uint8_t {
  kPersons = 0,      // Person entities sent
  kQueries = 1,      // blinded identifiers in linkage queries
  kBytes = 2,        // signed message bytes
  kDerogations = 3,  // transfers made under an LED art 38 derogation
  // Linkage queries answered (one per query message, whatever its
  // recipients), recorded under the recipient kAnyRecipient: DP-LINK-01's
  // per-endpoint daily limit.
  kLinkageQueries = 4,
};
inline constexpr int kMetricCount = 5;

// The recipient key of volumes counted per sender, not per pair.
inline constexpr std::string_view kAnyRecipient = "*";

// What one delivered message adds.
struct Usage {
  int64_t persons = 0;
  int64_t queries = 0;
  int64_t bytes = 0;
  int64_t derogations = 0;
  int64_t linkage_queries = 0;

  int64_t get(Metric m) const;
};

// The Usage of `message` (message_bytes long) delivered under a decision
// whose transfer basis is `transfer_kind`. Persons are Person entities in
// the body (a person sent twice counts twice); queries are the identifiers
// of a linkage query.
Usage UsageOf(const liaison::v1::Message& message, size_t message_bytes,
              liaison::v1::TransferKind transfer_kind);

class Counters {
 public:
  virtual ~Counters() = default;
  // Sum of `metric` recorded for sender -> recipient at times t with
  // now - window < t <= now. Thread-safe.
  virtual int64_t Sum(std::string_view sender, std::string_view recipient, Metric metric,
                      absl::Duration window, absl::Time now) const = 0;
};

class SlidingWindowCounters final : public Counters {
 public:
  // `horizon`: the longest window anyone will ask for (older buckets are
  // dropped). `granularity`: bucket width; windows are exact to it.
  explicit SlidingWindowCounters(absl::Duration horizon = absl::Hours(24 * 31),
                                 absl::Duration granularity = absl::Seconds(1));

  // Adds `usage` at `now` (what the broker forwarded). Times should not go
  // backwards by more than a bucket; a record older than the newest bucket
  // is added to the newest bucket. Thread-safe.
  void Record(std::string_view sender, std::string_view recipient, const Usage& usage,
              absl::Time now) ABSL_LOCKS_EXCLUDED(mu_);

  int64_t Sum(std::string_view sender, std::string_view recipient, Metric metric,
              absl::Duration window, absl::Time now) const override ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Bucket {
    int64_t start;                          // bucket index (time / granularity)
    std::array<int64_t, kMetricCount> cum;  // running totals including this bucket
  };
  struct Series {
    std::deque<Bucket> buckets;
    std::array<int64_t, kMetricCount> dropped{};  // totals of forgotten buckets
  };

  int64_t BucketOf(absl::Time t) const;

  const absl::Duration horizon_;
  const absl::Duration granularity_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, absl::flat_hash_map<std::string, Series>> series_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace liaison::policy

#endif  // LIAISON_POLICY_COUNTERS_H_

// Prometheus text exposition (format 0.0.4), small enough to own: counter and
// histogram families with labels, and a writer for whole families. Label
// values are metadata only (endpoint ids, codes, kinds, outcomes, rule ids,
// method names): never put content into a label.
//
//   CounterVec sent("liaison_x_total", "What it counts.", {"code"});
//   sent.Add({"OK"});
//   MetricsText text;
//   sent.Render(text);
//   std::string body = text.Take();
#ifndef LIAISON_BROKER_OPERATORS_METRICS_H_
#define LIAISON_BROKER_OPERATORS_METRICS_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"

namespace liaison::broker {

using Labels = std::vector<std::pair<std::string, std::string>>;

// Builds one exposition. Not thread-safe (one per scrape).
class MetricsText {
 public:
  // Starts a family: "# HELP" and "# TYPE" lines. `type` is counter, gauge or
  // histogram. Samples of the family follow.
  void Family(std::string_view name, std::string_view type, std::string_view help);
  void Sample(std::string_view name, const Labels& labels, double value);
  void Sample(std::string_view name, const Labels& labels, int64_t value);
  // A whole one-sample gauge or counter family.
  void Gauge(std::string_view name, std::string_view help, double value);
  void Counter(std::string_view name, std::string_view help, int64_t value);

  std::string Take() { return std::move(out_); }

 private:
  void SampleStart(std::string_view name, const Labels& labels);
  std::string out_;
};

// "a\"b" -> a\"b with backslash, quote and newline escaped (label values).
std::string EscapeLabelValue(std::string_view value);

// A counter family. Thread-safe; Add is a short critical section.
class CounterVec {
 public:
  CounterVec(std::string name, std::string help, std::vector<std::string> label_names);
  // `values` has one entry per label name.
  void Add(const std::vector<std::string>& values, int64_t delta = 1) ABSL_LOCKS_EXCLUDED(mu_);
  int64_t Get(const std::vector<std::string>& values) const ABSL_LOCKS_EXCLUDED(mu_);
  // Sum over all label values.
  int64_t Total() const ABSL_LOCKS_EXCLUDED(mu_);
  void Render(MetricsText& out) const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  const std::string name_;
  const std::string help_;
  const std::vector<std::string> label_names_;
  mutable absl::Mutex mu_;
  std::map<std::vector<std::string>, int64_t> values_ ABSL_GUARDED_BY(mu_);
};

// A histogram family (cumulative buckets, _sum, _count). Thread-safe.
class HistogramVec {
 public:
  // `bounds`: upper bounds, ascending (+Inf is implicit).
  HistogramVec(std::string name, std::string help, std::vector<std::string> label_names,
               std::vector<double> bounds);
  void Observe(const std::vector<std::string>& values, double value) ABSL_LOCKS_EXCLUDED(mu_);
  // Observations so far (all label values).
  int64_t Count() const ABSL_LOCKS_EXCLUDED(mu_);
  void Render(MetricsText& out) const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Series {
    std::vector<int64_t> buckets;  // per bound, not cumulative
    int64_t count = 0;
    double sum = 0;
  };
  const std::string name_;
  const std::string help_;
  const std::vector<std::string> label_names_;
  const std::vector<double> bounds_;
  mutable absl::Mutex mu_;
  std::map<std::vector<std::string>, Series> series_ ABSL_GUARDED_BY(mu_);
};

// Bucket bounds, in seconds: sub-millisecond to 30 s (Kafka writes), and
// milliseconds to a day (end to end: an endpoint may be offline for hours).
const std::vector<double>& ShortLatencyBounds();
const std::vector<double>& LongLatencyBounds();

}  // namespace liaison::broker

#endif  // LIAISON_BROKER_OPERATORS_METRICS_H_

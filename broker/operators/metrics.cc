#include "broker/operators/metrics.h"

#include <charconv>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace liaison::broker {
namespace {

std::string FormatDouble(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return absl::StrCat(static_cast<int64_t>(v));
  // Shortest text that reads back as the same double (Unix times need 13+
  // significant digits).
  char buf[64];
  const std::to_chars_result r = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, r.ptr);
}

std::string EscapeHelp(std::string_view help) {
  std::string out;
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

Labels Zip(const std::vector<std::string>& names, const std::vector<std::string>& values) {
  Labels out;
  for (size_t i = 0; i < names.size() && i < values.size(); ++i) {
    out.emplace_back(names[i], values[i]);
  }
  return out;
}

}  // namespace

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

void MetricsText::Family(std::string_view name, std::string_view type, std::string_view help) {
  absl::StrAppend(&out_, "# HELP ", std::string(name), " ", EscapeHelp(help), "\n", "# TYPE ",
                  std::string(name), " ", std::string(type), "\n");
}

void MetricsText::SampleStart(std::string_view name, const Labels& labels) {
  out_.append(name);
  if (!labels.empty()) {
    out_ += '{';
    for (size_t i = 0; i < labels.size(); ++i) {
      if (i > 0) out_ += ',';
      absl::StrAppend(&out_, labels[i].first, "=\"", EscapeLabelValue(labels[i].second), "\"");
    }
    out_ += '}';
  }
  out_ += ' ';
}

void MetricsText::Sample(std::string_view name, const Labels& labels, double value) {
  SampleStart(name, labels);
  absl::StrAppend(&out_, FormatDouble(value), "\n");
}

void MetricsText::Sample(std::string_view name, const Labels& labels, int64_t value) {
  SampleStart(name, labels);
  absl::StrAppend(&out_, value, "\n");
}

void MetricsText::Gauge(std::string_view name, std::string_view help, double value) {
  Family(name, "gauge", help);
  Sample(name, {}, value);
}

void MetricsText::Counter(std::string_view name, std::string_view help, int64_t value) {
  Family(name, "counter", help);
  Sample(name, {}, value);
}

CounterVec::CounterVec(std::string name, std::string help, std::vector<std::string> label_names)
    : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)) {}

void CounterVec::Add(const std::vector<std::string>& values, int64_t delta) {
  absl::MutexLock lock(&mu_);
  values_[values] += delta;
}

int64_t CounterVec::Get(const std::vector<std::string>& values) const {
  absl::MutexLock lock(&mu_);
  auto it = values_.find(values);
  return it == values_.end() ? 0 : it->second;
}

int64_t CounterVec::Total() const {
  absl::MutexLock lock(&mu_);
  int64_t total = 0;
  for (const auto& [labels, value] : values_) total += value;
  return total;
}

void CounterVec::Render(MetricsText& out) const {
  out.Family(name_, "counter", help_);
  absl::MutexLock lock(&mu_);
  for (const auto& [values, value] : values_) out.Sample(name_, Zip(label_names_, values), value);
}

HistogramVec::HistogramVec(std::string name, std::string help, std::vector<std::string> label_names,
                           std::vector<double> bounds)
    : name_(std::move(name)),
      help_(std::move(help)),
      label_names_(std::move(label_names)),
      bounds_(std::move(bounds)) {}

void HistogramVec::Observe(const std::vector<std::string>& values, double value) {
  if (std::isnan(value)) return;
  absl::MutexLock lock(&mu_);
  Series& s = series_[values];
  if (s.buckets.empty()) s.buckets.assign(bounds_.size(), 0);
  for (size_t i = 0; i < bounds_.size(); ++i) {
    if (value <= bounds_[i]) {
      ++s.buckets[i];
      break;
    }
  }
  ++s.count;
  s.sum += value;
}

int64_t HistogramVec::Count() const {
  absl::MutexLock lock(&mu_);
  int64_t n = 0;
  for (const auto& [values, s] : series_) n += s.count;
  return n;
}

void HistogramVec::Render(MetricsText& out) const {
  out.Family(name_, "histogram", help_);
  const std::string bucket = name_ + "_bucket";
  const std::string sum = name_ + "_sum";
  const std::string count = name_ + "_count";
  absl::MutexLock lock(&mu_);
  for (const auto& [values, s] : series_) {
    Labels labels = Zip(label_names_, values);
    int64_t cumulative = 0;
    for (size_t i = 0; i < bounds_.size(); ++i) {
      cumulative += s.buckets[i];
      Labels with_le = labels;
      with_le.emplace_back("le", FormatDouble(bounds_[i]));
      out.Sample(bucket, with_le, cumulative);
    }
    Labels inf = labels;
    inf.emplace_back("le", "+Inf");
    out.Sample(bucket, inf, s.count);
    out.Sample(sum, labels, s.sum);
    out.Sample(count, labels, s.count);
  }
}

const std::vector<double>& ShortLatencyBounds() {
  static const auto* bounds = new std::vector<double>{
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
  return *bounds;
}

const std::vector<double>& LongLatencyBounds() {
  static const auto* bounds =
      new std::vector<double>{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,  0.25, 0.5,   1,    2.5,
                              5,     10,     30,    60,   300,   900,  1800, 3600, 21600, 86400};
  return *bounds;
}

}  // namespace liaison::broker

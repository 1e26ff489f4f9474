// The Prometheus text the operators' /metrics serves: families, labels,
// escaping, cumulative histogram buckets.
#include "broker/operators/metrics.h"

#include <string>

#include "gtest/gtest.h"

namespace liaison::broker {
namespace {

// The exposition of one family on its own.
template <typename Family>
std::string Rendered(const Family& family) {
  MetricsText text;
  family.Render(text);
  return text.Take();
}

TEST(MetricsText, CounterFamilyHasHelpTypeAndOneSamplePerLabelSet) {
  CounterVec sent("liaison_x_total", "What it counts.", {"code", "sender"});
  sent.Add({"OK", "DE-BKA"});
  sent.Add({"OK", "DE-BKA"}, 2);
  sent.Add({"UNAVAILABLE", "FR-PN"});
  EXPECT_EQ(sent.Get({"OK", "DE-BKA"}), 3);
  EXPECT_EQ(sent.Get({"OK", "FR-PN"}), 0);
  EXPECT_EQ(sent.Total(), 4);
  EXPECT_EQ(Rendered(sent),
            "# HELP liaison_x_total What it counts.\n"
            "# TYPE liaison_x_total counter\n"
            "liaison_x_total{code=\"OK\",sender=\"DE-BKA\"} 3\n"
            "liaison_x_total{code=\"UNAVAILABLE\",sender=\"FR-PN\"} 1\n");
}

TEST(MetricsText, AnUnusedFamilyIsStillDeclared) {
  CounterVec none("liaison_none_total", "Nothing yet.", {"group"});
  EXPECT_EQ(Rendered(none),
            "# HELP liaison_none_total Nothing yet.\n# TYPE liaison_none_total counter\n");
}

struct EscapeCase {
  std::string raw;
  std::string escaped;
};

class LabelEscaping : public ::testing::TestWithParam<EscapeCase> {};

TEST_P(LabelEscaping, BackslashQuoteAndNewlineAreEscaped) {
  EXPECT_EQ(EscapeLabelValue(GetParam().raw), GetParam().escaped);
  MetricsText text;
  text.Sample("m", {{"l", GetParam().raw}}, int64_t{1});
  EXPECT_EQ(text.Take(), "m{l=\"" + GetParam().escaped + "\"} 1\n");
}

INSTANTIATE_TEST_SUITE_P(
    Values, LabelEscaping,
    ::testing::Values(EscapeCase{"plain", "plain"}, EscapeCase{"a\"b", "a\\\"b"},
                      EscapeCase{"a\\b", "a\\\\b"}, EscapeCase{"a\nb", "a\\nb"},
                      EscapeCase{"\"\\\n", "\\\"\\\\\\n"}, EscapeCase{"", ""},
                      EscapeCase{"liaison.v1.Exchange/Send", "liaison.v1.Exchange/Send"}));

TEST(MetricsText, HelpEscapesBackslashAndNewlineOnly) {
  MetricsText text;
  text.Family("m", "gauge", "a \"quoted\" back\\slash\nnewline");
  EXPECT_EQ(text.Take(), "# HELP m a \"quoted\" back\\\\slash\\nnewline\n# TYPE m gauge\n");
}

TEST(MetricsText, GaugesAndCountersWithoutLabelsAndDoubles) {
  MetricsText text;
  text.Gauge("liaison_up", "Up.", 1.0);
  text.Counter("liaison_n_total", "N.", 42);
  text.Sample("liaison_t", {}, 1733356800.123);
  text.Sample("liaison_half", {}, 0.5);
  EXPECT_EQ(text.Take(),
            "# HELP liaison_up Up.\n# TYPE liaison_up gauge\nliaison_up 1\n"
            "# HELP liaison_n_total N.\n# TYPE liaison_n_total counter\nliaison_n_total 42\n"
            "liaison_t 1733356800.123\n"
            "liaison_half 0.5\n");
}

TEST(MetricsText, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  HistogramVec h("liaison_l_seconds", "Latency.", {"result"}, {0.1, 1, 10});
  h.Observe({"ok"}, 0.05);
  h.Observe({"ok"}, 0.1);  // on the bound: in that bucket
  h.Observe({"ok"}, 5);
  h.Observe({"ok"}, 100);           // beyond the last bound: +Inf only
  h.Observe({"ok"}, std::nan(""));  // ignored
  EXPECT_EQ(h.Count(), 4);
  EXPECT_EQ(Rendered(h),
            "# HELP liaison_l_seconds Latency.\n"
            "# TYPE liaison_l_seconds histogram\n"
            "liaison_l_seconds_bucket{result=\"ok\",le=\"0.1\"} 2\n"
            "liaison_l_seconds_bucket{result=\"ok\",le=\"1\"} 2\n"
            "liaison_l_seconds_bucket{result=\"ok\",le=\"10\"} 3\n"
            "liaison_l_seconds_bucket{result=\"ok\",le=\"+Inf\"} 4\n"
            "liaison_l_seconds_sum{result=\"ok\"} 105.15\n"
            "liaison_l_seconds_count{result=\"ok\"} 4\n");
}

TEST(MetricsText, LatencyBoundsAscend) {
  for (const std::vector<double>* bounds : {&ShortLatencyBounds(), &LongLatencyBounds()}) {
    ASSERT_FALSE(bounds->empty());
    for (size_t i = 1; i < bounds->size(); ++i) EXPECT_LT((*bounds)[i - 1], (*bounds)[i]);
  }
  EXPECT_EQ(LongLatencyBounds().back(), 86400);
}

}  // namespace
}  // namespace liaison::broker

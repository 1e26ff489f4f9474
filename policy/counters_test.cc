#include "policy/counters.h"

#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "policy/testing/scenario.h"

namespace liaison::policy {
namespace {

using scenario::T0;

TEST(SlidingWindowCounters, SumsOnlyWhatFallsInsideTheWindow) {
  SlidingWindowCounters c;
  c.Record("BG-GDNP", "DE-BKA", Usage{.persons = 10}, T0() - absl::Minutes(11));
  c.Record("BG-GDNP", "DE-BKA", Usage{.persons = 20}, T0() - absl::Minutes(9));
  c.Record("BG-GDNP", "DE-BKA", Usage{.persons = 30}, T0());
  EXPECT_EQ(c.Sum("BG-GDNP", "DE-BKA", Metric::kPersons, absl::Minutes(10), T0()), 50);
  EXPECT_EQ(c.Sum("BG-GDNP", "DE-BKA", Metric::kPersons, absl::Minutes(12), T0()), 60);
  EXPECT_EQ(
      c.Sum("BG-GDNP", "DE-BKA", Metric::kPersons, absl::Minutes(10), T0() - absl::Seconds(1)),
      20 + 10 * 0);
}

TEST(SlidingWindowCounters, TheWindowSlidesWithNow) {
  SlidingWindowCounters c;
  c.Record("A-X", "B-Y", Usage{.queries = 5}, T0());
  EXPECT_EQ(c.Sum("A-X", "B-Y", Metric::kQueries, absl::Minutes(10), T0() + absl::Minutes(9)), 5);
  EXPECT_EQ(c.Sum("A-X", "B-Y", Metric::kQueries, absl::Minutes(10), T0() + absl::Minutes(10)), 0);
}

TEST(SlidingWindowCounters, KeepsPairsAndMetricsApart) {
  SlidingWindowCounters c;
  c.Record("A-X", "B-Y", Usage{.persons = 1, .queries = 2, .bytes = 3, .derogations = 4}, T0());
  c.Record("B-Y", "A-X", Usage{.persons = 100}, T0());
  EXPECT_EQ(c.Sum("A-X", "B-Y", Metric::kPersons, absl::Hours(1), T0()), 1);
  EXPECT_EQ(c.Sum("A-X", "B-Y", Metric::kQueries, absl::Hours(1), T0()), 2);
  EXPECT_EQ(c.Sum("A-X", "B-Y", Metric::kBytes, absl::Hours(1), T0()), 3);
  EXPECT_EQ(c.Sum("A-X", "B-Y", Metric::kDerogations, absl::Hours(1), T0()), 4);
  EXPECT_EQ(c.Sum("A-X", "C-Z", Metric::kPersons, absl::Hours(1), T0()), 0);
}

TEST(SlidingWindowCounters, ForgetsBucketsBeyondTheHorizonButStaysExactInsideIt) {
  SlidingWindowCounters c(absl::Hours(1));
  for (int i = 0; i < 180; ++i)
    c.Record("A-X", "B-Y", Usage{.persons = 1}, T0() + absl::Minutes(i));
  const absl::Time now = T0() + absl::Minutes(179);
  EXPECT_EQ(c.Sum("A-X", "B-Y", Metric::kPersons, absl::Minutes(30), now), 30);
  EXPECT_EQ(c.Sum("A-X", "B-Y", Metric::kPersons, absl::Minutes(60), now), 60);
}

TEST(SlidingWindowCounters, ARecordOlderThanTheNewestBucketJoinsIt) {
  SlidingWindowCounters c;
  c.Record("A-X", "B-Y", Usage{.persons = 1}, T0());
  c.Record("A-X", "B-Y", Usage{.persons = 1}, T0() - absl::Minutes(5));
  EXPECT_EQ(c.Sum("A-X", "B-Y", Metric::kPersons, absl::Minutes(1), T0()), 2);
}

TEST(SlidingWindowCounters, IsSafeForConcurrentRecordAndSum) {
  SlidingWindowCounters c;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&c] {
      for (int i = 0; i < 1000; ++i) {
        c.Record("A-X", "B-Y", Usage{.persons = 1}, T0());
        (void)c.Sum("A-X", "B-Y", Metric::kPersons, absl::Minutes(10), T0());
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(c.Sum("A-X", "B-Y", Metric::kPersons, absl::Minutes(10), T0()), 4000);
}

TEST(UsageOf, CountsPersonsQueriesBytesAndDerogations) {
  const auto info = scenario::Ac03VictimInfoExchange();
  const Usage u = UsageOf(info, 1234, liaison::v1::TRANSFER_KIND_DEROGATION_38);
  EXPECT_EQ(u.persons, 2);
  EXPECT_EQ(u.queries, 0);
  EXPECT_EQ(u.bytes, 1234);
  EXPECT_EQ(u.derogations, 1);
  EXPECT_EQ(UsageOf(scenario::Ac14LinkageQuery(), 0, liaison::v1::TRANSFER_KIND_NONE).queries, 2);
}

}  // namespace
}  // namespace liaison::policy

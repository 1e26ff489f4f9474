// The flow log behind the admin API and the dashboard: the ring, 10-second
// buckets over the horizon, waiting for events, listeners.
#include "broker/operators/flow_log.h"

#include <atomic>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace liaison::broker {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1767225600);  // a bucket boundary

FlowEvent Event(const std::string& sender, const std::string& recipient,
                liaison::v1::Outcome outcome, size_t bytes = 100,
                std::vector<std::string> rules = {}) {
  FlowEvent e;
  e.sender = sender;
  e.recipient = recipient;
  e.kind = liaison::v1::KIND_ALERT;
  e.outcome = outcome;
  e.bytes = bytes;
  e.rule_ids = std::move(rules);
  return e;
}

TEST(FlowLog, NumbersEventsAndKeepsTheLastOnesInARing) {
  ManualClock clock(kT0);
  FlowLog log(&clock, {.capacity = 3});
  for (int i = 0; i < 5; ++i) log.Add(Event("DE-BKA", "FR-PN", liaison::v1::OUTCOME_ALLOW));
  EXPECT_EQ(log.last_seq(), 5u);
  std::vector<FlowRecord> recent = log.Recent(10);
  ASSERT_EQ(recent.size(), 3u);
  EXPECT_EQ(recent.front().seq, 3u);
  EXPECT_EQ(recent.back().seq, 5u);
  EXPECT_EQ(log.Recent(1).front().seq, 5u);
  // Since: seq > after; the ones that left the ring are skipped.
  std::vector<FlowRecord> since = log.Since(1, 10);
  ASSERT_EQ(since.size(), 3u);
  EXPECT_EQ(since.front().seq, 3u);
  EXPECT_EQ(log.Since(4, 10).size(), 1u);
  EXPECT_TRUE(log.Since(5, 10).empty());
  EXPECT_EQ(log.Since(0, 2).size(), 2u);
}

TEST(FlowLog, StatsCountWholeBucketsInTheWindowAndForgetPastTheHorizon) {
  ManualClock clock(kT0);
  FlowLog log(&clock);  // 10 s buckets, one hour
  log.Add(Event("DE-BKA", "FR-PN", liaison::v1::OUTCOME_ALLOW, 100));
  log.Add(Event("DE-BKA", "FR-PN", liaison::v1::OUTCOME_ALLOW, 50));
  log.Add(Event("DE-BKA", "SE-NOA", liaison::v1::OUTCOME_REJECT, 10, {"DP-PURPOSE-01"}));
  clock.Advance(absl::Seconds(25));
  log.Add(Event("FR-PN", "DE-BKA", liaison::v1::OUTCOME_HOLD, 7, {"DP-CONSENT-01"}));

  FlowWindowStats recent = log.Stats(absl::Seconds(5));  // only the bucket of T0+20s
  EXPECT_EQ(recent.decisions, 1);
  ASSERT_EQ(recent.flows.size(), 1u);
  EXPECT_EQ(recent.flows[0].sender, "FR-PN");

  FlowWindowStats all = log.Stats(absl::Minutes(5));
  EXPECT_EQ(all.decisions, 4);
  ASSERT_EQ(all.flows.size(), 3u);  // sorted by sender, recipient, kind, outcome
  EXPECT_EQ(all.flows[0].recipient, "FR-PN");
  EXPECT_EQ(all.flows[0].count, 2);
  EXPECT_EQ(all.flows[0].bytes, 150);
  EXPECT_EQ(all.flows[1].recipient, "SE-NOA");
  EXPECT_EQ(all.flows[2].sender, "FR-PN");
  ASSERT_EQ(all.rules.size(), 2u);
  EXPECT_EQ(all.rules[0].rule_id, "DP-CONSENT-01");
  EXPECT_EQ(all.rules[0].outcome, liaison::v1::OUTCOME_HOLD);
  EXPECT_EQ(all.rules[1].rule_id, "DP-PURPOSE-01");
  // Never more than the node has been up.
  EXPECT_EQ(all.covered, absl::Seconds(25));
  EXPECT_EQ(all.window, absl::Minutes(5));

  // A bucket that ended more than an hour ago is gone (a new event prunes):
  // an hour and 5 s after the last event, its bucket [T0+20s, T0+30s) has.
  clock.Advance(absl::Hours(1) + absl::Seconds(5));
  log.Add(Event("SE-NOA", "DE-BKA", liaison::v1::OUTCOME_ALLOW));
  FlowWindowStats later = log.Stats(absl::Hours(2));  // cut to the horizon
  EXPECT_EQ(later.decisions, 1);
  EXPECT_EQ(log.horizon(), absl::Hours(1));
}

TEST(FlowLog, WaitAfterWakesOnANewEventAndOnClose) {
  ManualClock clock(kT0);
  FlowLog log(&clock);
  EXPECT_FALSE(log.WaitAfter(0, absl::Milliseconds(10)));  // nothing yet
  std::thread adder([&] {
    absl::SleepFor(absl::Milliseconds(20));
    log.Add(Event("DE-BKA", "FR-PN", liaison::v1::OUTCOME_ALLOW));
  });
  EXPECT_TRUE(log.WaitAfter(0, absl::Seconds(30)));
  adder.join();
  EXPECT_TRUE(log.WaitAfter(0, absl::ZeroDuration()));  // already there
  std::thread closer([&] {
    absl::SleepFor(absl::Milliseconds(20));
    log.Close();
  });
  const absl::Time start = absl::Now();
  EXPECT_FALSE(log.WaitAfter(1, absl::Seconds(30)));
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  closer.join();
  EXPECT_TRUE(log.closed());
}

TEST(FlowLog, ListenersSeeEveryNewEventUntilRemoved) {
  ManualClock clock(kT0);
  FlowLog log(&clock);
  std::vector<uint64_t> seen_a;
  std::vector<uint64_t> seen_b;
  const uint64_t a = log.AddListener([&](const FlowRecord& r) { seen_a.push_back(r.seq); });
  const uint64_t b = log.AddListener([&](const FlowRecord& r) { seen_b.push_back(r.seq); });
  EXPECT_NE(a, b);
  log.Add(Event("DE-BKA", "FR-PN", liaison::v1::OUTCOME_ALLOW));
  log.RemoveListener(a);
  log.Add(Event("DE-BKA", "FR-PN", liaison::v1::OUTCOME_ALLOW));
  EXPECT_EQ(seen_a, std::vector<uint64_t>({1}));
  EXPECT_EQ(seen_b, std::vector<uint64_t>({1, 2}));
  const FlowRecord last = log.Recent(1).front();
  EXPECT_EQ(last.observed_at, kT0);
  EXPECT_EQ(last.event.recipient, "FR-PN");
}

}  // namespace
}  // namespace liaison::broker

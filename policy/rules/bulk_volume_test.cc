#include "policy/rules/bulk_volume.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policy/consents.h"
#include "policy/counters.h"
#include "policy/registry.h"
#include "policy/testing/scenario.h"

namespace liaison::policy::rules {
namespace {

using scenario::T0;
using ::testing::HasSubstr;

TEST(BulkVolumeRule, PassesUnderTheCap) {
  SlidingWindowCounters counters;
  counters.Record("BG-GDNP", "DE-BKA", Usage{.persons = 90}, T0() - absl::Minutes(5));
  const auto m = scenario::Ac21Batch(0);
  Input in = scenario::InputFor(m, "DE-BKA");
  in.counters = &counters;
  EXPECT_EQ(BulkVolumeRule().Check(in).kind, VerdictKind::kPass);
}

TEST(BulkVolumeRule, HoldsForReviewBeyondTheCapWithCountsOnly) {
  SlidingWindowCounters counters;
  counters.Record("BG-GDNP", "DE-BKA", Usage{.persons = 95}, T0() - absl::Minutes(5));
  const auto m = scenario::Ac21Batch(0);
  Input in = scenario::InputFor(m, "DE-BKA");
  in.counters = &counters;
  const Verdict v = BulkVolumeRule().Check(in);
  EXPECT_EQ(v.kind, VerdictKind::kHold);
  EXPECT_EQ(v.reason,
            "DP-BULK-01: BG-GDNP→DE-BKA volume 105 persons/10 min exceeds cap 100; held for "
            "review: a DPO review (CONSENT_KIND_DPO_REVIEW) releases or refuses it");
  ASSERT_EQ(v.holds.size(), 1u);
  EXPECT_EQ(v.holds[0].awaiting, kAwaitingDpo);
  EXPECT_EQ(v.holds[0].consent_kind, liaison::v1::CONSENT_KIND_DPO_REVIEW);
}

TEST(BulkVolumeRule, ForgetsTrafficThatLeftTheWindow) {
  SlidingWindowCounters counters;
  counters.Record("BG-GDNP", "DE-BKA", Usage{.persons = 95}, T0() - absl::Minutes(11));
  const auto m = scenario::Ac21Batch(0);
  Input in = scenario::InputFor(m, "DE-BKA");
  in.counters = &counters;
  EXPECT_EQ(BulkVolumeRule().Check(in).kind, VerdictKind::kPass);
}

TEST(BulkVolumeRule, PassesOnceADpoReviewReleasedTheMessage) {
  SlidingWindowCounters counters;
  counters.Record("BG-GDNP", "DE-BKA", Usage{.persons = 95}, T0() - absl::Minutes(5));
  const auto m = scenario::Ac21Batch(0);
  InMemoryConsentIndex consents;
  consents.Add(scenario::Consent(std::string(kAwaitingDpo), liaison::v1::CONSENT_KIND_DPO_REVIEW,
                                 "BG-GDNP", {m.header().message_id()}, T0() + absl::Hours(1)));
  Input in = scenario::InputFor(m, "DE-BKA");
  in.counters = &counters;
  in.consents = &consents;
  EXPECT_EQ(BulkVolumeRule().Check(in).kind, VerdictKind::kPass);
}

TEST(BulkVolumeRule, RejectsWhatTheDpoReviewRefusedAndSaysHowToNarrowIt) {
  SlidingWindowCounters counters;
  counters.Record("BG-GDNP", "DE-BKA", Usage{.persons = 95}, T0() - absl::Minutes(5));
  const auto m = scenario::Ac21Batch(0);
  InMemoryConsentIndex consents;
  consents.Add(scenario::Consent(std::string(kAwaitingDpo), liaison::v1::CONSENT_KIND_DPO_REVIEW,
                                 "BG-GDNP", {m.header().message_id()}, T0() + absl::Hours(1),
                                 false));
  Input in = scenario::InputFor(m, "DE-BKA");
  in.counters = &counters;
  in.consents = &consents;
  const Verdict v = BulkVolumeRule().Check(in);
  EXPECT_EQ(v.kind, VerdictKind::kReject);
  EXPECT_THAT(v.reason, ::testing::EndsWith("; refused by DPO review: narrow the request to the "
                                            "persons the case needs"));
}

TEST(BulkVolumeRule, FailsClosedWithoutCounters) {
  const auto m = scenario::Ac21Batch(0);
  EXPECT_THAT(BulkVolumeRule().Check(scenario::InputFor(m, "DE-BKA")).reason,
              HasSubstr("DP-BULK-01: cannot decide: no volume counters supplied"));
}

TEST(BulkVolumeRule, HoldsAnAnomalyAgainstTheBaseline) {
  liaison::v1::Registry proto = scenario::DevRegistry()->proto();
  auto* cap = proto.mutable_bulk_caps(0);             // persons, 10 min, cap 100
  cap->mutable_baseline_window()->set_seconds(6000);  // 100 min
  cap->set_baseline_factor(3);
  cap->set_baseline_floor(5);
  auto registry = Registry::FromProto(proto);
  ASSERT_TRUE(registry.ok()) << registry.status();
  SlidingWindowCounters counters;
  for (int i = 1; i <= 10; ++i) {  // 2 persons every 10 minutes: baseline 2 per window
    counters.Record("BG-GDNP", "DE-BKA", Usage{.persons = 2}, T0() - absl::Minutes(10 * i));
  }
  const auto m = scenario::Ac21Batch(0, 7);  // 7 > 3 x 2
  Input in = scenario::InputFor(m, "DE-BKA");
  in.registry = registry->get();
  in.counters = &counters;
  const Verdict v = BulkVolumeRule().Check(in);
  EXPECT_EQ(v.kind, VerdictKind::kHold);
  EXPECT_THAT(v.reason, HasSubstr("exceeds 3x its baseline"));
}

}  // namespace
}  // namespace liaison::policy::rules

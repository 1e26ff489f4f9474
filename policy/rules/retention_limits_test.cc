#include "policy/rules/retention_limits.h"

#include "base/proto_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policy/registry.h"
#include "policy/testing/scenario.h"

namespace liaison::policy::rules {
namespace {

using scenario::T0;
using ::testing::HasSubstr;

TEST(RetentionLimitsRule, PassesWithinTheMaximumForTheKind) {
  const auto m = scenario::Ac03VictimInfoExchange();
  EXPECT_EQ(RetentionLimitsRule().Check(scenario::InputFor(m, "FR-OCRTEH")).kind,
            VerdictKind::kPass);
}

TEST(RetentionLimitsRule, RejectsMissingEraseBy) {
  auto m = scenario::Ac03VictimInfoExchange();
  m.mutable_header()->mutable_retention()->clear_erase_by();
  const Verdict v = RetentionLimitsRule().Check(scenario::InputFor(m, "FR-OCRTEH"));
  EXPECT_EQ(v.kind, VerdictKind::kReject);
  EXPECT_THAT(v.reason, HasSubstr("header.retention.erase_by is missing"));
  EXPECT_THAT(v.reason, HasSubstr("set both (liaison send --review-in and --erase-in)"));
}

TEST(RetentionLimitsRule, RejectsLinkageQueryKeptLongerThan180Days) {
  auto m = scenario::Ac14LinkageQuery();
  *m.mutable_header()->mutable_retention()->mutable_erase_by() =
      liaison::ToProto(T0() + absl::Hours(24 * 181));
  const Verdict v = RetentionLimitsRule().Check(scenario::InputFor(m, "RO-IGPR"));
  EXPECT_EQ(v.kind, VerdictKind::kReject);
  EXPECT_EQ(v.reason,
            "DP-RET-01: header.retention.erase_by exceeds 180 days for LINKAGE_QUERY; set "
            "erase_by at or before 2026-10-31T09:00Z");
}

TEST(RetentionLimitsRule, LimitsEvidenceToThirtyDaysAfterTheJitEnds) {
  auto m = scenario::Ac16EvidenceManifest();
  EXPECT_EQ(RetentionLimitsRule().Check(scenario::InputFor(m, "DE-BKA")).kind, VerdictKind::kPass);
  *m.mutable_header()->mutable_retention()->mutable_erase_by() =
      liaison::ToProto(absl::FromCivil(absl::CivilDay(2026, 7, 2), absl::UTCTimeZone()));
  const Verdict v = RetentionLimitsRule().Check(scenario::InputFor(m, "DE-BKA"));
  EXPECT_EQ(v.kind, VerdictKind::kReject);
  EXPECT_THAT(v.reason, HasSubstr("exceeds JIT-2025-014 end + 30 days (2026-07-01)"));
}

TEST(RetentionLimitsRule, RejectsReviewAfterErasure) {
  auto m = scenario::Ac03VictimInfoExchange();
  *m.mutable_header()->mutable_retention()->mutable_review_by() =
      liaison::ToProto(T0() + absl::Hours(24 * 200));
  EXPECT_EQ(RetentionLimitsRule().Check(scenario::InputFor(m, "FR-OCRTEH")).kind,
            VerdictKind::kReject);
}

TEST(RetentionLimitsRule, FailsClosedWhenTheRegistryHasNoLimitForTheKind) {
  liaison::v1::Registry proto = scenario::DevRegistry()->proto();
  proto.clear_retention_limits();
  auto registry = Registry::FromProto(proto);
  ASSERT_TRUE(registry.ok());
  const auto m = scenario::Ac03VictimInfoExchange();
  Input in = scenario::InputFor(m, "FR-OCRTEH");
  in.registry = registry->get();
  const Verdict v = RetentionLimitsRule().Check(in);
  EXPECT_EQ(v.kind, VerdictKind::kReject);
  EXPECT_THAT(v.reason, HasSubstr("DP-RET-01: cannot decide: no retention maximum registered for "
                                  "INFO_EXCHANGE"));
}

}  // namespace
}  // namespace liaison::policy::rules

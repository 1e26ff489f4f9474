#include "policy/rules/derogation_limits.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policy/counters.h"
#include "policy/testing/scenario.h"

namespace liaison::policy::rules {
namespace {

using scenario::T0;
using ::testing::HasSubstr;

TEST(DerogationLimitsRule, PassesAnIndividualCaseWithTheIndividualCaseObligation) {
  SlidingWindowCounters counters;
  const auto m = scenario::Ac11SuspectsToMd(1, scenario::Ac11Basis::kDerogation38C);
  Input in = scenario::InputFor(m, "MD-IGP");
  in.counters = &counters;
  const Verdict v = DerogationLimitsRule().Check(in);
  EXPECT_EQ(v.kind, VerdictKind::kPass);
  ASSERT_EQ(v.obligations.size(), 1u);
  EXPECT_EQ(v.obligations[0].code(), "INDIVIDUAL_CASE_ONLY");
}

TEST(DerogationLimitsRule, RejectsMoreDataSubjectsThanTheLimit) {
  SlidingWindowCounters counters;
  const auto m = scenario::Ac11SuspectsToMd(40, scenario::Ac11Basis::kDerogation38C);
  Input in = scenario::InputFor(m, "MD-IGP");
  in.counters = &counters;
  const Verdict v = DerogationLimitsRule().Check(in);
  EXPECT_EQ(v.kind, VerdictKind::kReject);
  EXPECT_EQ(v.reason,
            "DP-XFER-03: 40 data subjects exceed derogation limit 3; an art 38 derogation covers "
            "one individual case: declare 38A..38E, confirm the fundamental-rights check, give "
            "the justification id, or register a safeguard (DP-XFER-01)");
}

TEST(DerogationLimitsRule, RejectsWithoutFundamentalRightsCheck) {
  SlidingWindowCounters counters;
  auto m = scenario::Ac11SuspectsToMd(1, scenario::Ac11Basis::kDerogation38C);
  m.mutable_header()->mutable_transfer()->set_fundamental_rights_checked(false);
  Input in = scenario::InputFor(m, "MD-IGP");
  in.counters = &counters;
  const Verdict v = DerogationLimitsRule().Check(in);
  EXPECT_EQ(v.kind, VerdictKind::kReject);
  EXPECT_THAT(v.reason, HasSubstr("fundamental_rights_checked is not set"));
}

TEST(DerogationLimitsRule, RejectsARepeatPatternWithinTheWindow) {
  SlidingWindowCounters counters;
  for (int day = 1; day <= 3; ++day) {
    counters.Record("DE-BKA", "MD-IGP", Usage{.persons = 1, .derogations = 1},
                    T0() - absl::Hours(24 * day));
  }
  const auto m = scenario::Ac11SuspectsToMd(1, scenario::Ac11Basis::kDerogation38C);
  Input in = scenario::InputFor(m, "MD-IGP");
  in.counters = &counters;
  const Verdict v = DerogationLimitsRule().Check(in);
  EXPECT_EQ(v.kind, VerdictKind::kReject);
  EXPECT_THAT(v.reason, HasSubstr("4 derogation transfers DE-BKA→MD-IGP within 30 days exceed 3"));
}

TEST(DerogationLimitsRule, FailsClosedWithoutCounters) {
  const auto m = scenario::Ac11SuspectsToMd(1, scenario::Ac11Basis::kDerogation38C);
  const Verdict v = DerogationLimitsRule().Check(scenario::InputFor(m, "MD-IGP"));
  EXPECT_EQ(v.kind, VerdictKind::kReject);
  EXPECT_THAT(v.reason, HasSubstr("DP-XFER-03: cannot decide"));
}

TEST(DerogationLimitsRule, RejectsAnArt35_2GroundDeclaredAsArt38) {
  SlidingWindowCounters counters;
  auto m = scenario::Ac11SuspectsToMd(1, scenario::Ac11Basis::kDerogation38C);
  m.mutable_header()->mutable_transfer()->set_derogation(liaison::v1::DEROGATION_THREAT_35_2);
  Input in = scenario::InputFor(m, "MD-IGP");
  in.counters = &counters;
  EXPECT_EQ(DerogationLimitsRule().Check(in).kind, VerdictKind::kReject);
}

TEST(DerogationLimitsRule, NotApplicableWithoutDerogation) {
  const auto m = scenario::Ac11SuspectsToMd(1, scenario::Ac11Basis::kNone);
  EXPECT_EQ(DerogationLimitsRule().Check(scenario::InputFor(m, "MD-IGP")).kind,
            VerdictKind::kNotApplicable);
}

}  // namespace
}  // namespace liaison::policy::rules

#include "policy/rules/rule_util.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace liaison::policy::rules {
namespace {

constexpr RuleId kRule("DP-TEST-01");

TEST(SourceConsentVerdict, NothingConcernedIsNotApplicableAndConcernedIsPass) {
  EXPECT_EQ(SourceConsentVerdict(kRule).Finish().kind, VerdictKind::kNotApplicable);
  SourceConsentVerdict applies(kRule);
  applies.Applies();
  EXPECT_EQ(std::move(applies).Finish().kind, VerdictKind::kPass);
}

TEST(SourceConsentVerdict, OneHoldPerAwaitedEndpointWithEveryReason) {
  SourceConsentVerdict v(kRule);
  v.Applies();
  v.Await("RO-IGPR", liaison::v1::CONSENT_KIND_PROVIDER, "source A needs RO-IGPR");
  v.Await("DE-BKA", liaison::v1::CONSENT_KIND_PROVIDER, "source B needs DE-BKA");
  v.Await("RO-IGPR", liaison::v1::CONSENT_KIND_PROVIDER, "source C needs RO-IGPR");
  Verdict out = std::move(v).Finish();
  EXPECT_EQ(out.kind, VerdictKind::kHold);
  ASSERT_EQ(out.holds.size(), 2u);
  EXPECT_EQ(out.holds[0].awaiting, "RO-IGPR");
  EXPECT_EQ(out.holds[1].awaiting, "DE-BKA");
  EXPECT_EQ(out.reason,
            "DP-TEST-01: source A needs RO-IGPR; source B needs DE-BKA; source C needs RO-IGPR");
}

TEST(SourceConsentVerdict, ARefusalWinsOverHolds) {
  SourceConsentVerdict v(kRule);
  v.Await("RO-IGPR", liaison::v1::CONSENT_KIND_PROVIDER, "source A needs RO-IGPR");
  EXPECT_FALSE(v.Reject("DP-TEST-01: DE-BKA refused source B"));
  Verdict out = std::move(v).Finish();
  EXPECT_EQ(out.kind, VerdictKind::kReject);
  EXPECT_EQ(out.reason, "DP-TEST-01: DE-BKA refused source B");
}

}  // namespace
}  // namespace liaison::policy::rules

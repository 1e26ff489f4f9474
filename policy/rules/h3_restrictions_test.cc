#include "policy/rules/h3_restrictions.h"

#include "base/proto_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policy/testing/scenario.h"

namespace liaison::policy::rules {
namespace {

using scenario::T0;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(H3RestrictionsRule, RejectsUnknownRestrictionCode) {
  const auto m = scenario::Ac09UnknownRestriction();
  const Verdict v = H3RestrictionsRule().Check(scenario::InputFor(m, "NL-NP"));
  EXPECT_EQ(v.kind, VerdictKind::kReject);
  EXPECT_THAT(v.reason, HasSubstr("DP-HC-04: unknown restriction code 'NO_PRESS'"));
}

TEST(H3RestrictionsRule, QuotesOnlyCodeShapedUnknownCodes) {
  auto m = scenario::Ac09UnknownRestriction();
  m.mutable_header()->mutable_handling()->mutable_restrictions(0)->set_code(
      "do not tell ZZTEST-ELENA");
  const Verdict v = H3RestrictionsRule().Check(scenario::InputFor(m, "NL-NP"));
  EXPECT_EQ(v.kind, VerdictKind::kReject);
  EXPECT_THAT(v.reason,
              HasSubstr("header.handling.restrictions[0].code is not a known restriction code"));
  EXPECT_THAT(v.reason, Not(HasSubstr("ZZTEST")));
}

TEST(H3RestrictionsRule, DelaysUntilNotBefore) {
  const auto m = scenario::Ac09NotBefore();
  const Verdict v = H3RestrictionsRule().Check(scenario::InputFor(m, "NL-NP"));
  EXPECT_EQ(v.kind, VerdictKind::kDelay);
  EXPECT_EQ(v.until, T0() + absl::Hours(6));
  EXPECT_THAT(v.reason, HasSubstr("until 2026-05-04T15:00Z"));
}

TEST(H3RestrictionsRule, RejectsANotBeforeBeyondTheRegistryMaximum) {
  auto m = scenario::Ac09NotBefore();
  (*m.mutable_header()->mutable_handling()->mutable_restrictions(0)->mutable_params())["at"] =
      absl::FormatTime(absl::RFC3339_sec, T0() + absl::Hours(24 * 31), absl::UTCTimeZone());
  *m.mutable_header()->mutable_retention()->mutable_erase_by() =
      liaison::ToProto(T0() + absl::Hours(24 * 90));
  const Verdict v = H3RestrictionsRule().Check(scenario::InputFor(m, "NL-NP"));
  EXPECT_EQ(v.kind, VerdictKind::kReject);
  EXPECT_THAT(v.reason, HasSubstr("NOT_BEFORE lies 744h ahead; the registry allows at most 720h"));
}

TEST(H3RestrictionsRule, RejectsANotBeforeThatEndsAfterTheErasureTime) {
  auto m = scenario::Ac09NotBefore();  // NOT_BEFORE T0+6h
  *m.mutable_header()->mutable_retention()->mutable_erase_by() =
      liaison::ToProto(T0() + absl::Hours(5));
  const Verdict v = H3RestrictionsRule().Check(scenario::InputFor(m, "NL-NP"));
  EXPECT_EQ(v.kind, VerdictKind::kReject);
  EXPECT_THAT(v.reason, HasSubstr("could never be delivered"));
  auto* r = m.mutable_header()->mutable_handling()->add_restrictions();
  r->set_code("ERASE_BY");
  (*r->mutable_params())["at"] =
      absl::FormatTime(absl::RFC3339_sec, T0() + absl::Hours(4), absl::UTCTimeZone());
  *m.mutable_header()->mutable_retention()->mutable_erase_by() =
      liaison::ToProto(T0() + absl::Hours(48));
  EXPECT_EQ(H3RestrictionsRule().Check(scenario::InputFor(m, "NL-NP")).kind, VerdictKind::kReject);
}

TEST(H3RestrictionsRule, PassesOnceNotBeforeHasPassed) {
  const auto m = scenario::Ac09NotBefore();
  EXPECT_EQ(H3RestrictionsRule().Check(scenario::InputFor(m, "NL-NP", T0() + absl::Hours(7))).kind,
            VerdictKind::kPass);
}

TEST(H3RestrictionsRule, RejectsNoThirdCountryForAThirdCountryRecipient) {
  auto m = scenario::Ac09UnknownRestriction();
  m.mutable_header()->mutable_handling()->mutable_restrictions(0)->set_code("NO_THIRD_COUNTRY");
  EXPECT_EQ(H3RestrictionsRule().Check(scenario::InputFor(m, "GB-NCA")).kind, VerdictKind::kReject);
  const Verdict eu = H3RestrictionsRule().Check(scenario::InputFor(m, "NL-NP"));
  EXPECT_EQ(eu.kind, VerdictKind::kPass);
  ASSERT_EQ(eu.obligations.size(), 1u);
  EXPECT_EQ(eu.obligations[0].code(), "NO_THIRD_COUNTRY");
}

TEST(H3RestrictionsRule, TurnsRecipientsOnlyAndReportBackIntoObligations) {
  auto m = scenario::Ac09UnknownRestriction();
  auto* h = m.mutable_header()->mutable_handling();
  h->mutable_restrictions(0)->set_code("RECIPIENTS_ONLY");
  h->add_restrictions()->set_code("REPORT_BACK");
  const Verdict v = H3RestrictionsRule().Check(scenario::InputFor(m, "NL-NP"));
  EXPECT_EQ(v.kind, VerdictKind::kPass);
  ASSERT_EQ(v.obligations.size(), 2u);
  EXPECT_EQ(v.obligations[0].code(), "RECIPIENTS_ONLY");
  EXPECT_EQ(v.obligations[1].code(), "REPORT_BACK");
}

TEST(H3RestrictionsRule, RejectsEraseByWithoutTime) {
  auto m = scenario::Ac09UnknownRestriction();
  m.mutable_header()->mutable_handling()->mutable_restrictions(0)->set_code("ERASE_BY");
  const Verdict v = H3RestrictionsRule().Check(scenario::InputFor(m, "NL-NP"));
  EXPECT_EQ(v.kind, VerdictKind::kReject);
  EXPECT_THAT(v.reason, HasSubstr("ERASE_BY needs params.at as an RFC 3339 time"));
}

TEST(H3RestrictionsRule, RejectsH3WithoutRestrictions) {
  auto m = scenario::Ac09UnknownRestriction();
  m.mutable_header()->mutable_handling()->clear_restrictions();
  EXPECT_EQ(H3RestrictionsRule().Check(scenario::InputFor(m, "NL-NP")).kind, VerdictKind::kReject);
}

}  // namespace
}  // namespace liaison::policy::rules

#include "policy/rules/child_identity.h"

#include <cstdint>
#include <limits>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policy/consents.h"
#include "policy/testing/scenario.h"

namespace liaison::policy::rules {
namespace {

using scenario::T0;
using ::testing::HasSubstr;

TEST(ChildIdentityRule, RedactsChildIdentityForEndpointWithoutChildRole) {
  const auto m = scenario::Ac01MissingChildAlert();
  const Verdict v = ChildIdentityRule().Check(scenario::InputFor(m, "BG-GDNP"));
  EXPECT_EQ(v.kind, VerdictKind::kRedact);
  EXPECT_THAT(v.reason,
              HasSubstr("DP-CHILD-01: child identity of alert.entities[0] redacted for BG-GDNP"));
  EXPECT_THAT(v.reason, HasSubstr("a JIT of which BG-GDNP is a member (case_ref), or a THB_UNIT or "
                                  "CHILD_PROTECTION endpoint"));
}

TEST(ChildIdentityRule, PassesThbUnitInTheEu) {
  const auto m = scenario::Ac01MissingChildAlert();
  EXPECT_EQ(ChildIdentityRule().Check(scenario::InputFor(m, "DE-BKA")).kind, VerdictKind::kPass);
}

TEST(ChildIdentityRule, HoldsThirdCountryRecipientForSenderApproval) {
  const auto m = scenario::Ac02MissingChildAlertWide();
  const Verdict v = ChildIdentityRule().Check(scenario::InputFor(m, "GB-NCA"));
  EXPECT_EQ(v.kind, VerdictKind::kHold);
  ASSERT_EQ(v.holds.size(), 1u);
  EXPECT_EQ(v.holds[0].awaiting, "RO-IGPR");
  EXPECT_EQ(v.holds[0].consent_kind, liaison::v1::CONSENT_KIND_SENDER_APPROVAL);
  EXPECT_THAT(v.reason, HasSubstr("child identity to GB-NCA needs approval by RO-IGPR supervisor"));
}

TEST(ChildIdentityRule, PassesThirdCountryOnceTheSenderApproved) {
  const auto m = scenario::Ac02MissingChildAlertWide();
  InMemoryConsentIndex consents;
  consents.Add(scenario::Consent("RO-IGPR", liaison::v1::CONSENT_KIND_SENDER_APPROVAL, "RO-IGPR",
                                 {m.header().message_id()}, T0() + absl::Hours(2)));
  Input in = scenario::InputFor(m, "GB-NCA");
  in.consents = &consents;
  EXPECT_EQ(ChildIdentityRule().Check(in).kind, VerdictKind::kPass);
}

TEST(ChildIdentityRule, RejectsThirdCountryWhenTheSenderRefused) {
  const auto m = scenario::Ac02MissingChildAlertWide();
  InMemoryConsentIndex consents;
  consents.Add(scenario::Consent("RO-IGPR", liaison::v1::CONSENT_KIND_SENDER_APPROVAL, "RO-IGPR",
                                 {m.header().message_id()}, T0() + absl::Hours(2), false));
  Input in = scenario::InputFor(m, "GB-NCA");
  in.consents = &consents;
  const Verdict v = ChildIdentityRule().Check(in);
  EXPECT_EQ(v.kind, VerdictKind::kReject);
  EXPECT_EQ(v.reason,
            "DP-CHILD-01: RO-IGPR refused child identity to GB-NCA; send the alert without the "
            "child's identity");
}

TEST(ChildIdentityRule, IgnoresApprovalFromAnotherEndpoint) {
  const auto m = scenario::Ac02MissingChildAlertWide();
  InMemoryConsentIndex consents;
  consents.Add(scenario::Consent("DE-BKA", liaison::v1::CONSENT_KIND_SENDER_APPROVAL, "RO-IGPR",
                                 {m.header().message_id()}, T0() + absl::Hours(2)));
  Input in = scenario::InputFor(m, "GB-NCA");
  in.consents = &consents;
  EXPECT_EQ(ChildIdentityRule().Check(in).kind, VerdictKind::kHold);
}

TEST(ChildIdentityRule, PresumesAChildWhenTheSenderSaysSo) {
  auto m = scenario::Ac01MissingChildAlert();
  auto* p = m.mutable_alert()->mutable_entities(0)->mutable_person();
  p->clear_birth_date();
  p->set_is_minor(liaison::v1::MINOR_PRESUMED);
  EXPECT_EQ(ChildIdentityRule().Check(scenario::InputFor(m, "BG-GDNP")).kind, VerdictKind::kRedact);
}

TEST(ChildIdentityRule, ComputesAgeAtTheDecisionTime) {
  auto m = scenario::Ac01MissingChildAlert();
  auto* p = m.mutable_alert()->mutable_entities(0)->mutable_person();
  p->set_is_minor(liaison::v1::MINOR_UNSPECIFIED);
  p->mutable_birth_date()->set_year(2008);
  p->mutable_birth_date()->set_month(5);
  p->mutable_birth_date()->set_day(5);  // 18 on 2026-05-05
  EXPECT_EQ(ChildIdentityRule().Check(scenario::InputFor(m, "BG-GDNP")).kind, VerdictKind::kRedact);
  const absl::Time birthday = absl::FromCivil(absl::CivilDay(2026, 5, 5), absl::UTCTimeZone());
  EXPECT_EQ(ChildIdentityRule().Check(scenario::InputFor(m, "BG-GDNP", birthday)).kind,
            VerdictKind::kNotApplicable);
}

TEST(ChildIdentityRule, ReadsAYearOnlyBirthDateAsTheLatestDayItAllows) {
  auto m = scenario::Ac01MissingChildAlert();
  auto* p = m.mutable_alert()->mutable_entities(0)->mutable_person();
  p->set_is_minor(liaison::v1::MINOR_UNSPECIFIED);
  p->mutable_birth_date()->set_year(2008);
  p->mutable_birth_date()->set_month(0);
  p->mutable_birth_date()->set_day(0);  // could be 2008-12-31: presume a child
  EXPECT_EQ(ChildIdentityRule().Check(scenario::InputFor(m, "BG-GDNP")).kind, VerdictKind::kRedact);
}

// Found by policy_chain_fuzz under UBSan: the 18th birthday of year
// INT32_MAX overflowed int (undefined behaviour; with wrap-around the person
// came out an adult born in the distant past). A birth date after `now` is
// nonsense, and when in doubt the person is presumed a child.
TEST(ChildIdentityRule, PresumesAChildForABirthYearFarInTheFuture) {
  auto m = scenario::Ac01MissingChildAlert();
  auto* p = m.mutable_alert()->mutable_entities(0)->mutable_person();
  p->set_is_minor(liaison::v1::MINOR_UNSPECIFIED);
  p->mutable_birth_date()->set_year(std::numeric_limits<int32_t>::max());
  EXPECT_EQ(ChildIdentityRule().Check(scenario::InputFor(m, "BG-GDNP")).kind, VerdictKind::kRedact);
  p->mutable_birth_date()->set_year(std::numeric_limits<int32_t>::max() - 17);
  EXPECT_EQ(ChildIdentityRule().Check(scenario::InputFor(m, "BG-GDNP")).kind, VerdictKind::kRedact);
}

}  // namespace
}  // namespace liaison::policy::rules

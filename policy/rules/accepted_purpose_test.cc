#include "policy/rules/accepted_purpose.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policy/testing/scenario.h"

namespace liaison::policy::rules {
namespace {

using ::testing::HasSubstr;

TEST(AcceptedPurposeRule, PassesPurposeTheRecipientAccepts) {
  const auto m = scenario::Ac03VictimInfoExchange();
  EXPECT_EQ(AcceptedPurposeRule().Check(scenario::InputFor(m, "BG-GDNP")).kind, VerdictKind::kPass);
}

TEST(AcceptedPurposeRule, RejectsPurposeNotAcceptedAndListsTheAcceptedOnes) {
  const auto m = scenario::Ac04ProtectVictimToSe();
  const Verdict v = AcceptedPurposeRule().Check(scenario::InputFor(m, "SE-NOA"));
  EXPECT_EQ(v.kind, VerdictKind::kReject);
  EXPECT_EQ(v.reason,
            "DP-PURPOSE-01: purpose PROTECT_VICTIM is not accepted by SE-NOA (accepted: PREVENT, "
            "DETECT, INVESTIGATE, LOCATE_MISSING_PERSON)");
}

TEST(AcceptedPurposeRule, ListsEveryRefusedPurpose) {
  auto m = scenario::Ac04ProtectVictimToSe();
  m.mutable_header()->add_purposes(liaison::v1::PURPOSE_PROSECUTE);
  const Verdict v = AcceptedPurposeRule().Check(scenario::InputFor(m, "SE-NOA"));
  EXPECT_THAT(v.reason, HasSubstr("purposes PROTECT_VICTIM, PROSECUTE are not accepted by SE-NOA"));
}

TEST(AcceptedPurposeRule, RejectsMessageWithoutPurposes) {
  auto m = scenario::Ac03VictimInfoExchange();
  m.mutable_header()->clear_purposes();
  const Verdict v = AcceptedPurposeRule().Check(scenario::InputFor(m, "FR-OCRTEH"));
  EXPECT_EQ(v.kind, VerdictKind::kReject);
  EXPECT_THAT(v.reason, HasSubstr("header.purposes missing"));
}

TEST(AcceptedPurposeRule, RejectsUnspecifiedPurposeAsNotAnArt11Purpose) {
  auto m = scenario::Ac03VictimInfoExchange();
  m.mutable_header()->add_purposes(liaison::v1::PURPOSE_UNSPECIFIED);
  const Verdict v = AcceptedPurposeRule().Check(scenario::InputFor(m, "FR-OCRTEH"));
  EXPECT_THAT(v.reason, HasSubstr("header.purposes[1] is not an LED art 1(1) purpose"));
}

}  // namespace
}  // namespace liaison::policy::rules

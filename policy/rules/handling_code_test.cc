#include "policy/rules/handling_code.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policy/testing/scenario.h"

namespace liaison::policy::rules {
namespace {

TEST(HandlingCodeRule, RejectsMissingHandlingCode) {
  auto m = scenario::Ac03VictimInfoExchange();
  m.mutable_header()->mutable_handling()->clear_code();
  const Verdict v = HandlingCodeRule().Check(scenario::InputFor(m, "FR-OCRTEH"));
  EXPECT_EQ(v.kind, VerdictKind::kReject);
  EXPECT_EQ(v.reason, "DP-HC-01: header.handling.code missing; set H0, H1, H2 or H3");
}

TEST(HandlingCodeRule, StampsTheH0UsageCondition) {
  const auto m = scenario::Ac03VictimInfoExchange();
  const Verdict v = HandlingCodeRule().Check(scenario::InputFor(m, "FR-OCRTEH"));
  EXPECT_EQ(v.kind, VerdictKind::kPass);
  ASSERT_EQ(v.obligations.size(), 1u);
  EXPECT_EQ(v.obligations[0].code(), "H0");
  EXPECT_EQ(v.obligations[0].rule_id(), "DP-HC-01");
}

TEST(HandlingCodeRule, StampsTheH2ConditionOnH2Content) {
  const auto m = scenario::Ac07DerivedFromH2();
  const Verdict v = HandlingCodeRule().Check(scenario::InputFor(m, "ES-PN"));
  ASSERT_EQ(v.obligations.size(), 1u);
  EXPECT_EQ(v.obligations[0].code(), "H2");
}

}  // namespace
}  // namespace liaison::policy::rules

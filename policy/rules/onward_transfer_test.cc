#include "policy/rules/onward_transfer.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policy/consents.h"
#include "policy/testing/scenario.h"

namespace liaison::policy::rules {
namespace {

using scenario::T0;
using ::testing::HasSubstr;

// GB-NCA passes on content it received from DE-BKA.
liaison::v1::Message GbPassesOnDeContent(const char* to) {
  auto m = scenario::Ac09UnknownRestriction();
  m.mutable_header()->set_sender("GB-NCA");
  m.mutable_header()->clear_recipients();
  m.mutable_header()->add_recipients(to);
  m.mutable_header()->mutable_provenance()->set_original_provider("DE-BKA");
  return m;
}

TEST(OnwardTransferRule, HoldsEuOriginContentForTheOriginalTransferor) {
  const auto m = GbPassesOnDeContent("NL-NP");
  const Verdict v = OnwardTransferRule().Check(scenario::InputFor(m, "NL-NP"));
  EXPECT_EQ(v.kind, VerdictKind::kHold);
  ASSERT_EQ(v.holds.size(), 1u);
  EXPECT_EQ(v.holds[0].awaiting, "DE-BKA");
  EXPECT_THAT(
      v.reason,
      HasSubstr("DP-XFER-04: onward transfer of EU-origin content needs DE-BKA authorisation"));
}

TEST(OnwardTransferRule, PassesWithTheTransferorsAuthorisation) {
  const auto m = GbPassesOnDeContent("NL-NP");
  InMemoryConsentIndex consents;
  consents.Add(scenario::Consent("DE-BKA", liaison::v1::CONSENT_KIND_TRANSFER_AUTHORISATION,
                                 "GB-NCA", {m.header().message_id()}, T0() + absl::Hours(24)));
  Input in = scenario::InputFor(m, "NL-NP");
  in.consents = &consents;
  EXPECT_EQ(OnwardTransferRule().Check(in).kind, VerdictKind::kPass);
}

TEST(OnwardTransferRule, PassesBackToTheOriginalTransferor) {
  const auto m = GbPassesOnDeContent("DE-BKA");
  EXPECT_EQ(OnwardTransferRule().Check(scenario::InputFor(m, "DE-BKA")).kind, VerdictKind::kPass);
}

TEST(OnwardTransferRule, NotApplicableForAnEuSender) {
  const auto m = scenario::Ac03VictimInfoExchange();
  EXPECT_EQ(OnwardTransferRule().Check(scenario::InputFor(m, "FR-OCRTEH")).kind,
            VerdictKind::kNotApplicable);
}

}  // namespace
}  // namespace liaison::policy::rules

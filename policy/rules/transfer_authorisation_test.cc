#include "policy/rules/transfer_authorisation.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policy/consents.h"
#include "policy/testing/scenario.h"

namespace liaison::policy::rules {
namespace {

using scenario::T0;
using ::testing::HasSubstr;

// DE-BKA passes RO-IGPR-origin content on to GB-NCA.
liaison::v1::Message RoOriginToGb() {
  auto m = scenario::Ac03VictimInfoExchange();
  m.mutable_header()->set_sender("DE-BKA");
  m.mutable_header()->clear_recipients();
  m.mutable_header()->add_recipients("GB-NCA");
  m.mutable_header()->mutable_provenance()->set_original_provider("RO-IGPR");
  return m;
}

TEST(TransferAuthorisationRule, HoldsForTheOriginatingMemberState) {
  const auto m = RoOriginToGb();
  const Verdict v = TransferAuthorisationRule().Check(scenario::InputFor(m, "GB-NCA"));
  EXPECT_EQ(v.kind, VerdictKind::kHold);
  ASSERT_EQ(v.holds.size(), 1u);
  EXPECT_EQ(v.holds[0].awaiting, "RO-IGPR");
  EXPECT_EQ(v.holds[0].consent_kind, liaison::v1::CONSENT_KIND_TRANSFER_AUTHORISATION);
  EXPECT_EQ(v.reason, "DP-XFER-02: RO-IGPR authorisation required for transfer to GB-NCA");
}

TEST(TransferAuthorisationRule, PassesWithTheAuthorisation) {
  const auto m = RoOriginToGb();
  InMemoryConsentIndex consents;
  consents.Add(scenario::Consent("RO-IGPR", liaison::v1::CONSENT_KIND_TRANSFER_AUTHORISATION,
                                 "DE-BKA", {m.header().message_id()}, T0() + absl::Hours(24)));
  Input in = scenario::InputFor(m, "GB-NCA");
  in.consents = &consents;
  EXPECT_EQ(TransferAuthorisationRule().Check(in).kind, VerdictKind::kPass);
}

TEST(TransferAuthorisationRule, AllowsAnArt35_2ThreatAndAsksToInformTheOrigin) {
  auto m = RoOriginToGb();
  m.mutable_header()->mutable_transfer()->set_derogation(liaison::v1::DEROGATION_THREAT_35_2);
  const Verdict v = TransferAuthorisationRule().Check(scenario::InputFor(m, "GB-NCA"));
  EXPECT_EQ(v.kind, VerdictKind::kPass);
  ASSERT_EQ(v.notifications.size(), 1u);
  EXPECT_EQ(v.notifications[0].addressee, "RO-IGPR");
  EXPECT_EQ(v.notifications[0].kind, liaison::v1::NOTICE_KIND_TRANSFER_INFORMATION);
}

TEST(TransferAuthorisationRule, NotApplicableForEuRecipientsOrOwnContent) {
  const auto m = RoOriginToGb();
  EXPECT_EQ(TransferAuthorisationRule().Check(scenario::InputFor(m, "NL-NP")).kind,
            VerdictKind::kNotApplicable);
  const auto own = scenario::Ac02MissingChildAlertWide();
  EXPECT_EQ(TransferAuthorisationRule().Check(scenario::InputFor(own, "GB-NCA")).kind,
            VerdictKind::kNotApplicable);
}

}  // namespace
}  // namespace liaison::policy::rules

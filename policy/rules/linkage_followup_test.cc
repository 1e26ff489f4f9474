#include "policy/rules/linkage_followup.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policy/consents.h"
#include "policy/testing/scenario.h"

namespace liaison::policy::rules {
namespace {

using scenario::T0;
using ::testing::HasSubstr;

TEST(LinkageFollowUpRule, PassesAReplyWithOnlyHitOwnerAndRef) {
  const auto m = scenario::Ac14LinkageReply();
  EXPECT_EQ(LinkageFollowUpRule().Check(scenario::InputFor(m, "ES-PN")).kind, VerdictKind::kPass);
}

TEST(LinkageFollowUpRule, RejectsAReplyWhoseHitCarriesDetails) {
  auto m = scenario::Ac14LinkageReply();
  m.mutable_linkage_reply()->mutable_hits(0)->set_owner_ref("ZZTEST-ELENA ZZTEST-IVANOVA");
  const Verdict v = LinkageFollowUpRule().Check(scenario::InputFor(m, "ES-PN"));
  EXPECT_EQ(v.kind, VerdictKind::kReject);
  EXPECT_THAT(
      v.reason,
      HasSubstr("DP-LINK-02: linkage_reply.hits[0].owner_ref must be an opaque LNK- reference"));
}

TEST(LinkageFollowUpRule, HoldsTheFollowUpForTheOwnersApproval) {
  const auto m = scenario::Ac14FollowUp();
  const Verdict v = LinkageFollowUpRule().Check(scenario::InputFor(m, "RO-IGPR"));
  EXPECT_EQ(v.kind, VerdictKind::kHold);
  EXPECT_EQ(v.reason, "DP-LINK-02: follow-up for LNK-7Q2M-0001 awaits RO-IGPR approval");
  ASSERT_EQ(v.holds.size(), 1u);
  EXPECT_EQ(v.holds[0].consent_kind, liaison::v1::CONSENT_KIND_OWNER_APPROVAL);
}

TEST(LinkageFollowUpRule, PassesTheFollowUpOnceTheOwnerApproved) {
  const auto m = scenario::Ac14FollowUp();
  InMemoryConsentIndex consents;
  consents.Add(scenario::Consent("RO-IGPR", liaison::v1::CONSENT_KIND_OWNER_APPROVAL, "ES-PN",
                                 {m.header().message_id()}, T0() + absl::Hours(72)));
  Input in = scenario::InputFor(m, "RO-IGPR");
  in.consents = &consents;
  EXPECT_EQ(LinkageFollowUpRule().Check(in).kind, VerdictKind::kPass);
}

TEST(LinkageFollowUpRule, RejectsTheFollowUpTheOwnerRefused) {
  const auto m = scenario::Ac14FollowUp();
  InMemoryConsentIndex consents;
  consents.Add(scenario::Consent("RO-IGPR", liaison::v1::CONSENT_KIND_OWNER_APPROVAL, "ES-PN",
                                 {m.header().message_id()}, T0() + absl::Hours(72), false));
  Input in = scenario::InputFor(m, "RO-IGPR");
  in.consents = &consents;
  const Verdict v = LinkageFollowUpRule().Check(in);
  EXPECT_EQ(v.kind, VerdictKind::kReject);
  EXPECT_THAT(v.reason, HasSubstr("; use mutual legal assistance if it is still needed"));
}

TEST(LinkageFollowUpRule, RejectsAFollowUpToAnyoneButTheOwner) {
  const auto m = scenario::Ac14FollowUp();
  const Verdict v = LinkageFollowUpRule().Check(scenario::InputFor(m, "DE-BKA"));
  EXPECT_EQ(v.kind, VerdictKind::kReject);
  EXPECT_THAT(v.reason, HasSubstr("a follow-up goes only to its owner RO-IGPR, not to DE-BKA; "
                                  "address it to RO-IGPR only"));
}

TEST(LinkageFollowUpRule, RejectsAnApprovingDecisionWithoutDetailsId) {
  liaison::v1::Message m = scenario::Ac14FollowUp();
  m.mutable_header()->set_kind(liaison::v1::KIND_FOLLOWUP_DECISION);
  m.mutable_followup_decision()->set_followup_id(scenario::Ac14FollowUpId());
  m.mutable_followup_decision()->set_approve(true);
  const Verdict v = LinkageFollowUpRule().Check(scenario::InputFor(m, "ES-PN"));
  EXPECT_EQ(v.kind, VerdictKind::kReject);
  EXPECT_THAT(v.reason, HasSubstr("; set it to the id of the message carrying the details"));
  m.mutable_followup_decision()->set_details_message_id(scenario::FixedId(17));
  EXPECT_EQ(LinkageFollowUpRule().Check(scenario::InputFor(m, "ES-PN")).kind, VerdictKind::kPass);
}

}  // namespace
}  // namespace liaison::policy::rules

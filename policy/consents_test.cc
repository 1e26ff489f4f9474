#include "policy/consents.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policy/testing/scenario.h"

namespace liaison::policy {
namespace {

using scenario::T0;

ConsentQuery Query(const google::protobuf::RepeatedField<int>* purposes = nullptr) {
  ConsentQuery q;
  q.kind = liaison::v1::CONSENT_KIND_PROVIDER;
  q.grantor = "DE-BKA";
  q.grantee = "NL-NP";
  q.recipient = "ES-PN";
  q.message_id = "msg-held";
  q.source_id = "msg-source";
  q.purposes = purposes;
  q.now = T0();
  return q;
}

TEST(FindConsent, AGrantNamingTheHeldMessageCounts) {
  InMemoryConsentIndex idx;
  idx.Add(scenario::Consent("DE-BKA", liaison::v1::CONSENT_KIND_PROVIDER, "NL-NP", {"msg-held"},
                            T0() + absl::Hours(1)));
  EXPECT_EQ(FindConsent(&idx, Query()).state, ConsentState::kGranted);
}

TEST(FindConsent, IgnoresWrongGrantorGranteeKindOrExpiry) {
  InMemoryConsentIndex idx;
  idx.Add(scenario::Consent("FR-OCRTEH", liaison::v1::CONSENT_KIND_PROVIDER, "NL-NP", {"msg-held"},
                            T0() + absl::Hours(1)));
  idx.Add(scenario::Consent("DE-BKA", liaison::v1::CONSENT_KIND_PROVIDER, "ES-PN", {"msg-held"},
                            T0() + absl::Hours(1)));
  idx.Add(scenario::Consent("DE-BKA", liaison::v1::CONSENT_KIND_JIT_REUSE, "NL-NP", {"msg-held"},
                            T0() + absl::Hours(1)));
  idx.Add(
      scenario::Consent("DE-BKA", liaison::v1::CONSENT_KIND_PROVIDER, "NL-NP", {"msg-held"}, T0()));
  EXPECT_EQ(FindConsent(&idx, Query()).state, ConsentState::kNone);
}

TEST(FindConsent, AGrantNamingOnlyTheSourceMustListRecipientAndPurposes) {
  google::protobuf::RepeatedField<int> purposes;
  purposes.Add(liaison::v1::PURPOSE_PROSECUTE);
  InMemoryConsentIndex vague;
  vague.Add(scenario::Consent("DE-BKA", liaison::v1::CONSENT_KIND_PROVIDER, "NL-NP", {"msg-source"},
                              T0() + absl::Hours(1)));
  EXPECT_EQ(FindConsent(&vague, Query(&purposes)).state, ConsentState::kNone);
  InMemoryConsentIndex precise;
  precise.Add(scenario::Consent("DE-BKA", liaison::v1::CONSENT_KIND_PROVIDER, "NL-NP",
                                {"msg-source"}, T0() + absl::Hours(1), true, {"ES-PN"},
                                {liaison::v1::PURPOSE_PROSECUTE}));
  EXPECT_EQ(FindConsent(&precise, Query(&purposes)).state, ConsentState::kGranted);
  InMemoryConsentIndex other_recipient;
  other_recipient.Add(scenario::Consent("DE-BKA", liaison::v1::CONSENT_KIND_PROVIDER, "NL-NP",
                                        {"msg-source"}, T0() + absl::Hours(1), true, {"FR-OCRTEH"},
                                        {liaison::v1::PURPOSE_PROSECUTE}));
  EXPECT_EQ(FindConsent(&other_recipient, Query(&purposes)).state, ConsentState::kNone);
}

TEST(FindConsent, TheLatestRecordDecidesAndARefusalWinsATie) {
  InMemoryConsentIndex idx;
  ConsentRecord refusal = scenario::Consent("DE-BKA", liaison::v1::CONSENT_KIND_PROVIDER, "NL-NP",
                                            {"msg-held"}, T0() + absl::Hours(1), false);
  ConsentRecord grant = scenario::Consent("DE-BKA", liaison::v1::CONSENT_KIND_PROVIDER, "NL-NP",
                                          {"msg-held"}, T0() + absl::Hours(1), true);
  idx.Add(refusal);
  idx.Add(grant);
  EXPECT_EQ(FindConsent(&idx, Query()).state, ConsentState::kRefused);
  grant.recorded_at = T0() + absl::Minutes(5);
  idx.Add(grant);
  EXPECT_EQ(FindConsent(&idx, Query()).state, ConsentState::kGranted);
}

TEST(FindConsent, NothingRecordedMeansNone) {
  EXPECT_EQ(FindConsent(nullptr, Query()).state, ConsentState::kNone);
}

TEST(InMemoryConsentIndex, BuildsTheRecordFromAVerifiedConsentMessage) {
  const ConsentRecord r = scenario::Consent("DE-BKA", liaison::v1::CONSENT_KIND_PROVIDER, "NL-NP",
                                            {"msg-held"}, T0() + absl::Hours(1));
  const auto m = scenario::ConsentMessage(r, scenario::FixedId(555));
  absl::StatusOr<ConsentRecord> back = InMemoryConsentIndex::RecordOf(m, T0());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->grantor, "DE-BKA");
  EXPECT_EQ(back->grant.grantee(), "NL-NP");
  EXPECT_FALSE(InMemoryConsentIndex::RecordOf(scenario::Ac03VictimInfoExchange(), T0()).ok());
}

}  // namespace
TEST(ConsentRecordOf, AFollowUpDecisionIsTheOwnersApprovalOfTheFollowUp) {
  const liaison::v1::Message approve = scenario::Ac14FollowUpDecision(true);
  absl::StatusOr<ConsentRecord> r = InMemoryConsentIndex::RecordOf(approve, scenario::T0());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->grantor, "RO-IGPR");
  EXPECT_EQ(r->grant.grantee(), "ES-PN");
  EXPECT_EQ(r->grant.kind(), liaison::v1::CONSENT_KIND_OWNER_APPROVAL);
  EXPECT_EQ(r->grant.consent_id(), "followup/" + scenario::Ac14FollowUpId());
  ASSERT_EQ(r->grant.message_ids_size(), 1);
  EXPECT_EQ(r->grant.message_ids(0), scenario::Ac14FollowUpId());
  EXPECT_TRUE(r->grant.granted());
  EXPECT_TRUE(r->grant.has_expires());

  absl::StatusOr<ConsentRecord> refusal =
      InMemoryConsentIndex::RecordOf(scenario::Ac14FollowUpDecision(false), scenario::T0());
  ASSERT_TRUE(refusal.ok());
  EXPECT_FALSE(refusal->grant.granted());
  EXPECT_EQ(refusal->grant.reason_code(), "NOT_NECESSARY");
}

TEST(ConsentRecordOf, AFollowUpDecisionWithoutFollowUpOrToSeveralIsRefused) {
  liaison::v1::Message m = scenario::Ac14FollowUpDecision(true);
  m.mutable_followup_decision()->clear_followup_id();
  EXPECT_THAT(InMemoryConsentIndex::RecordOf(m, scenario::T0()).status().message(),
              ::testing::HasSubstr("followup_decision.followup_id: missing"));
  m = scenario::Ac14FollowUpDecision(true);
  m.mutable_header()->add_recipients("DE-BKA");
  EXPECT_THAT(
      InMemoryConsentIndex::RecordOf(m, scenario::T0()).status().message(),
      ::testing::HasSubstr("2 recipients; a follow-up decision goes to the requester only"));
}

}  // namespace liaison::policy

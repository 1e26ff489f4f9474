#include "policy/rules/correction_fanout.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policy/rules/accepted_purpose.h"
#include "policy/rules/further_purpose.h"
#include "policy/sources.h"
#include "policy/testing/scenario.h"

namespace liaison::policy::rules {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

TEST(CorrectionFanOutRule, ExemptsPurposeRulesForAnEarlierRecipient) {
  InMemorySourceIndex sources;
  sources.Add(scenario::Ac01SourceRecord());
  const auto m = scenario::Ac23EraseCorrection();
  Input in = scenario::InputFor(m, "SE-NOA");
  in.sources = &sources;
  const Verdict v = CorrectionFanOutRule().Check(in);
  EXPECT_EQ(v.kind, VerdictKind::kPass);
  EXPECT_THAT(v.exempts, UnorderedElementsAre(AcceptedPurposeRule::kId, FurtherPurposeRule::kId));
  ASSERT_EQ(v.obligations.size(), 1u);
  EXPECT_EQ(v.obligations[0].code(), "ERASE");
  EXPECT_EQ(v.obligations[0].params().at("targets"), scenario::Ac01Id());
}

TEST(CorrectionFanOutRule, DoesNotExemptForARecipientThatNeverReceivedTheTarget) {
  InMemorySourceIndex sources;
  sources.Add(scenario::Ac01SourceRecord());
  const auto m = scenario::Ac23EraseCorrection();
  Input in = scenario::InputFor(m, "GB-NCA");
  in.sources = &sources;
  const Verdict v = CorrectionFanOutRule().Check(in);
  EXPECT_EQ(v.kind, VerdictKind::kPass);
  EXPECT_THAT(v.exempts, IsEmpty());
  EXPECT_THAT(v.reason, HasSubstr("received none of the targets"));
}

TEST(CorrectionFanOutRule, RejectsUnknownTarget) {
  InMemorySourceIndex sources;
  const auto m = scenario::Ac23EraseCorrection();
  Input in = scenario::InputFor(m, "SE-NOA");
  in.sources = &sources;
  const Verdict v = CorrectionFanOutRule().Check(in);
  EXPECT_EQ(v.kind, VerdictKind::kReject);
  EXPECT_THAT(v.reason, HasSubstr("is unknown to the broker; name a message this broker "
                                  "accepted from the sender"));
}

TEST(CorrectionFanOutRule, RejectsCorrectionOfAnotherProvidersMessage) {
  InMemorySourceIndex sources;
  sources.Add(scenario::Ac01SourceRecord());
  auto m = scenario::Ac23EraseCorrection();
  m.mutable_header()->set_sender("DE-BKA");
  Input in = scenario::InputFor(m, "SE-NOA");
  in.sources = &sources;
  const Verdict v = CorrectionFanOutRule().Check(in);
  EXPECT_EQ(v.kind, VerdictKind::kReject);
  EXPECT_THAT(v.reason, HasSubstr("only the provider corrects its data; ask it to send the "
                                  "correction"));
}

TEST(CorrectionFanOutRule, RejectsErasureThatCarriesContent) {
  InMemorySourceIndex sources;
  sources.Add(scenario::Ac01SourceRecord());
  auto m = scenario::Ac23EraseCorrection();
  *m.mutable_correction()->mutable_alert() = scenario::Ac01MissingChildAlert().alert();
  Input in = scenario::InputFor(m, "SE-NOA");
  in.sources = &sources;
  const Verdict v = CorrectionFanOutRule().Check(in);
  EXPECT_EQ(v.kind, VerdictKind::kReject);
  EXPECT_THAT(v.reason, HasSubstr("ERASE notices carry ids only"));
}

TEST(CorrectionFanOutRule, RejectsRectifyWithoutReplacement) {
  InMemorySourceIndex sources;
  sources.Add(scenario::Ac01SourceRecord());
  auto m = scenario::Ac23EraseCorrection();
  m.mutable_correction()->set_action(liaison::v1::CORRECTION_ACTION_RECTIFY);
  Input in = scenario::InputFor(m, "SE-NOA");
  in.sources = &sources;
  EXPECT_EQ(CorrectionFanOutRule().Check(in).kind, VerdictKind::kReject);
}

TEST(CorrectionFanOutRule, RejectsAMissingActionOrTargetAndSaysWhatToSet) {
  auto m = scenario::Ac23EraseCorrection();
  m.mutable_correction()->clear_action();
  Verdict v = CorrectionFanOutRule().Check(scenario::InputFor(m, "SE-NOA"));
  EXPECT_EQ(v.kind, VerdictKind::kReject);
  EXPECT_EQ(v.reason,
            "DP-QUAL-02: correction.action missing or unknown; set RECTIFY, ERASE, RESTRICT or "
            "RETRACT_UNLAWFUL");
  m = scenario::Ac23EraseCorrection();
  m.mutable_correction()->clear_target_message_ids();
  v = CorrectionFanOutRule().Check(scenario::InputFor(m, "SE-NOA"));
  EXPECT_EQ(v.reason,
            "DP-QUAL-02: correction.target_message_ids empty; list the ids of the messages to "
            "correct");
}

TEST(CorrectionFanOutRule, FailsClosedWithoutASourceIndex) {
  const auto m = scenario::Ac23EraseCorrection();
  const Verdict v = CorrectionFanOutRule().Check(scenario::InputFor(m, "SE-NOA"));
  EXPECT_EQ(v.kind, VerdictKind::kReject);
  EXPECT_THAT(v.reason, HasSubstr("DP-QUAL-02: cannot decide"));
}

}  // namespace
}  // namespace liaison::policy::rules

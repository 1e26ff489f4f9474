#include "policy/redact.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policy/counters.h"
#include "policy/testing/scenario.h"

namespace liaison::policy {
namespace {

using scenario::T0;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

Decision Decide(const liaison::v1::Message& m, std::string_view recipient) {
  static SlidingWindowCounters* const counters = new SlidingWindowCounters();
  Input in = scenario::InputFor(m, recipient);
  in.counters = counters;
  return scenario::DevChain()->Evaluate(in);
}

TEST(Redact, RefusesADecisionThatIsNotAllowOrRedact) {
  const auto m = scenario::Ac02MissingChildAlertWide();
  const Decision held = Decide(m, "GB-NCA");
  ASSERT_EQ(held.outcome, liaison::v1::OUTCOME_HOLD);
  const auto r = Redact(m, held, scenario::TestPseudonymiser(), "GB-NCA");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(Redact, RefusesAnotherRecipientOrAnotherMessage) {
  const auto m = scenario::Ac03VictimInfoExchange();
  const Decision d = Decide(m, "BG-GDNP");
  EXPECT_EQ(Redact(m, d, scenario::TestPseudonymiser(), "FR-OCRTEH").status().code(),
            absl::StatusCode::kInvalidArgument);
  const auto other = scenario::Ac03VictimInfoExchange(scenario::FixedId(333));
  EXPECT_EQ(Redact(other, d, scenario::TestPseudonymiser(), "BG-GDNP").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(Redact, AnAllowDecisionYieldsTheMessageUnchanged) {
  const auto m = scenario::Ac03VictimInfoExchange();
  const Decision d = Decide(m, "FR-OCRTEH");
  const auto r = Redact(m, d, scenario::TestPseudonymiser(), "FR-OCRTEH");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->SerializeAsString(), m.SerializeAsString());
}

TEST(Redact, TheVictimRefIsStablePerRecipientAndDiffersAcrossRecipients) {
  auto m = scenario::Ac03VictimInfoExchange();
  m.mutable_header()->add_recipients("SE-NOA");
  const scenario::TestPseudonymiser p;
  const auto bg = Redact(m, Decide(m, "BG-GDNP"), p, "BG-GDNP");
  const auto bg_again = Redact(m, Decide(m, "BG-GDNP"), p, "BG-GDNP");
  const auto se = Redact(m, Decide(m, "SE-NOA"), p, "SE-NOA");
  ASSERT_TRUE(bg.ok() && bg_again.ok() && se.ok());
  EXPECT_EQ(bg->info().entities(0).person().victim_ref(),
            bg_again->info().entities(0).person().victim_ref());
  EXPECT_NE(bg->info().entities(0).person().victim_ref(),
            se->info().entities(0).person().victim_ref());
}

TEST(Redact, ClearsFieldsTheAllowlistDoesNotCover) {
  auto m = scenario::TypicalAlert();
  m.mutable_header()->clear_purposes();
  m.mutable_header()->add_purposes(liaison::v1::PURPOSE_LOCATE_MISSING_PERSON);
  const Decision d = Decide(m, "DE-BKA");
  ASSERT_EQ(d.outcome, liaison::v1::OUTCOME_REDACT) << d.explanation;
  const auto r = Redact(m, d, scenario::TestPseudonymiser(), "DE-BKA");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(r->alert().entities(0).person().account_refs(), IsEmpty());
  EXPECT_EQ(r->alert().entities(0).person().names(0).family(), "ZZTEST-CEBAN");
}

TEST(Redact, PseudonymisingAlsoClearsTheFreeTextOfACorrectionReplacement) {
  auto m = scenario::Ac23EraseCorrection();
  m.mutable_correction()->set_action(liaison::v1::CORRECTION_ACTION_RECTIFY);
  *m.mutable_correction()->mutable_info() = scenario::Ac03VictimInfoExchange().info();
  Decision d;
  d.outcome = liaison::v1::OUTCOME_REDACT;
  d.message_id = m.header().message_id();
  d.recipient = "BG-GDNP";
  RedactionStep s;
  s.action = RedactionStep::Action::kPseudonymiseIdentity;
  s.entity = 0;
  s.path = "correction.info.entities[0].person.entity_id";
  d.redaction_steps.push_back(s);
  const auto r = Redact(m, d, scenario::TestPseudonymiser(), "BG-GDNP");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(r->correction().info().entities(0).person().names(), IsEmpty());
  EXPECT_THAT(r->SerializeAsString(), Not(HasSubstr("ZZTEST-IVANOVA")));
}

TEST(Redact, RejectsAStepThatDoesNotFitTheMessage) {
  const auto m = scenario::Ac03VictimInfoExchange();
  Decision d = Decide(m, "BG-GDNP");
  d.redaction_steps[0].entity = 99;
  EXPECT_EQ(Redact(m, d, scenario::TestPseudonymiser(), "BG-GDNP").status().code(),
            absl::StatusCode::kInternal);
}

class EmptyPseudonymiser final : public Pseudonymiser {
 public:
  std::string Ref(std::string_view, std::string_view, std::string_view) const override {
    return "";
  }
};

TEST(Redact, RejectsAnEmptyPseudonym) {
  const auto m = scenario::Ac03VictimInfoExchange();
  EXPECT_EQ(Redact(m, Decide(m, "BG-GDNP"), EmptyPseudonymiser(), "BG-GDNP").status().code(),
            absl::StatusCode::kInternal);
}

}  // namespace
}  // namespace liaison::policy

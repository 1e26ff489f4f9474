// Regression tests for the two data-protection bypasses confirmed by the
// review of 2026-05 (through `liaison explain` on the development registry):
//  1. an adult victim riding on a missing-child alert received the missing
//     child's exemption (DP-CHILD-02 switched DP-CAT-02 off for the whole
//     message);
//  2. a sender's header.jit_id claim established "a JIT on the case" for a
//     case the JIT does not list, so identities went in full.
// Both failed before the fix; each is checked on the decision and on the
// derived copy the recipient would receive.
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policy/chain.h"
#include "policy/counters.h"
#include "policy/redact.h"
#include "policy/rules/jit_reuse.h"
#include "policy/sources.h"
#include "policy/testing/scenario.h"

namespace liaison::policy {
namespace {

using scenario::T0;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

Decision Decide(const liaison::v1::Message& m, std::string_view recipient,
                const SourceIndex* sources = nullptr) {
  static SlidingWindowCounters* const counters = new SlidingWindowCounters();
  Input in = scenario::InputFor(m, recipient);
  in.counters = counters;
  in.sources = sources;
  return scenario::DevChain()->Evaluate(in);
}

const RuleResult& Rule(const Decision& d, absl::string_view id) {
  for (const RuleResult& r : d.rules) {
    if (r.rule_id.value() == id) return r;
  }
  static const RuleResult* const none = new RuleResult();
  ADD_FAILURE() << "rule " << id << " not consulted";
  return *none;
}

liaison::v1::Person* AddAdultVictim(liaison::v1::Alert* a) {
  liaison::v1::Person* p = a->add_entities()->mutable_person();
  p->set_entity_id("P-190");
  p->add_categories(liaison::v1::SUBJECT_CATEGORY_VICTIM);
  auto* n = p->add_names();
  n->set_family("ZZTEST-ADULTVICTIM");
  n->set_given("ZZTEST-IOANA");
  p->mutable_birth_date()->set_year(1990);
  p->mutable_birth_date()->set_month(3);
  p->mutable_birth_date()->set_day(2);
  p->set_birth_place("ZZTEST-Constanta");
  p->mutable_meta()->set_basis(liaison::v1::INFO_BASIS_FACT);
  p->mutable_meta()->mutable_evaluation()->set_reliability(liaison::v1::RELIABILITY_B);
  p->mutable_meta()->mutable_evaluation()->set_accuracy(liaison::v1::ACCURACY_2);
  return p;
}

std::string DerivedBytes(const liaison::v1::Message& m, const Decision& d) {
  scenario::TestPseudonymiser pseudonymiser;
  absl::StatusOr<liaison::v1::Message> out = Redact(m, d, pseudonymiser, d.recipient);
  EXPECT_TRUE(out.ok()) << out.status();
  return out.ok() ? out->SerializeAsString() : std::string();
}

TEST(MissingChildExemption, AnAdultVictimInTheAlertIsRedactedForARecipientWithoutTheRole) {
  liaison::v1::Message m = scenario::Ac01MissingChildAlert();
  AddAdultVictim(m.mutable_alert());
  const Decision d = Decide(m, "BG-GDNP");  // SPOC only: no VICTIM_PROTECTION, no JIT
  ASSERT_EQ(d.outcome, liaison::v1::OUTCOME_REDACT) << d.explanation;
  const RuleResult& cat02 = Rule(d, "DP-CAT-02");
  EXPECT_TRUE(cat02.enforced());
  EXPECT_EQ(cat02.verdict, VerdictKind::kRedact);
  EXPECT_THAT(cat02.paths, Contains("alert.entities[2].person.names"));
  EXPECT_THAT(cat02.reason, HasSubstr("exempted by DP-CHILD-02"));
  // The missing child's own identity still goes in full.
  EXPECT_THAT(d.redaction_steps, Not(Contains(testing::Field(&RedactionStep::entity, 0))));
  const std::string bytes = DerivedBytes(m, d);
  EXPECT_THAT(bytes, HasSubstr("ZZTEST-ANA-MARIA"));
  EXPECT_THAT(bytes, Not(HasSubstr("ZZTEST-ADULTVICTIM")));
  EXPECT_THAT(bytes, Not(HasSubstr("ZZTEST-Constanta")));
}

TEST(MissingChildExemption, StillCoversTheMissingChildAlone) {
  const Decision d = Decide(scenario::Ac01MissingChildAlert(), "BG-GDNP");
  EXPECT_EQ(d.outcome, liaison::v1::OUTCOME_ALLOW) << d.explanation;
  EXPECT_EQ(Rule(d, "DP-CHILD-01").mode, RuleMode::kExempted);
  EXPECT_EQ(Rule(d, "DP-CHILD-01").exempted_by, RuleId("DP-CHILD-02"));
}

TEST(MissingChildExemption, DoesNotCoverAChildWitnessInTheSameAlert) {
  liaison::v1::Message m = scenario::Ac01MissingChildAlert();
  liaison::v1::Person* w = m.mutable_alert()->add_entities()->mutable_person();
  w->set_entity_id("P-191");
  w->add_categories(liaison::v1::SUBJECT_CATEGORY_WITNESS);
  w->add_names()->set_family("ZZTEST-CHILDWITNESS");
  w->set_is_minor(liaison::v1::MINOR_YES);
  w->mutable_meta()->set_basis(liaison::v1::INFO_BASIS_FACT);
  w->mutable_meta()->mutable_evaluation()->set_reliability(liaison::v1::RELIABILITY_B);
  w->mutable_meta()->mutable_evaluation()->set_accuracy(liaison::v1::ACCURACY_2);
  const Decision d = Decide(m, "BG-GDNP");
  ASSERT_EQ(d.outcome, liaison::v1::OUTCOME_REDACT) << d.explanation;
  EXPECT_TRUE(Rule(d, "DP-CHILD-01").enforced());
  const std::string bytes = DerivedBytes(m, d);
  EXPECT_THAT(bytes, HasSubstr("ZZTEST-ANA-MARIA"));
  EXPECT_THAT(bytes, Not(HasSubstr("ZZTEST-CHILDWITNESS")));
}

TEST(MissingChildExemption, NamesNoEntityThatIsNotAMinorSubject) {
  liaison::v1::Message m = scenario::Ac01MissingChildAlert();
  m.mutable_alert()->clear_subject_ids();  // every person counts as a subject
  AddAdultVictim(m.mutable_alert());
  const Decision d = Decide(m, "DE-BKA");
  // DE-BKA has THB_UNIT but no VICTIM_PROTECTION and no JIT on this case:
  // the adult is redacted, the child is not.
  ASSERT_EQ(d.outcome, liaison::v1::OUTCOME_REDACT) << d.explanation;
  EXPECT_TRUE(Rule(d, "DP-CAT-02").enforced());
}

liaison::v1::Message ClaimedJitInfoExchange(std::string case_ref) {
  liaison::v1::Message m = scenario::Ac06JitSpecialCategories();
  m.mutable_header()->set_case_ref(std::move(case_ref));
  m.mutable_header()->set_jit_id("JIT-2025-014");
  // Only the victim's identity matters here.
  for (auto& e : *m.mutable_info()->mutable_entities()) {
    if (e.has_person()) e.mutable_person()->clear_attributes();
  }
  return m;
}

TEST(JitOnTheCase, ASendersJitClaimForACaseTheJitDoesNotListUnlocksNothing) {
  const liaison::v1::Message m = ClaimedJitInfoExchange("DE-2026-9999");
  const Decision d = Decide(m, "NL-NP");  // no VICTIM_PROTECTION role
  ASSERT_EQ(d.outcome, liaison::v1::OUTCOME_REDACT) << d.explanation;
  EXPECT_TRUE(Rule(d, "DP-CAT-02").enforced());
  EXPECT_EQ(Rule(d, "DP-CAT-02").verdict, VerdictKind::kRedact);
  EXPECT_THAT(DerivedBytes(m, d), Not(HasSubstr("ZZTEST-NOVAK")));
}

TEST(JitOnTheCase, ACaseTheJitListsStillUnlocksTheIdentityForMembers) {
  const Decision d = Decide(ClaimedJitInfoExchange("DE-2025-4411"), "NL-NP");
  EXPECT_EQ(Rule(d, "DP-CAT-02").verdict, VerdictKind::kPass) << d.explanation;
}

TEST(JitOnTheCase, TheJitTheBrokerRecordedForASourceCounts) {
  // A message on a new case derived from one the broker recorded on the JIT.
  InMemorySourceIndex sources;
  const liaison::v1::Message source = ClaimedJitInfoExchange("DE-2025-4411");
  sources.Add(InMemorySourceIndex::RecordOf(source, {"NL-NP"}, *scenario::DevRegistry(), T0()));
  liaison::v1::Message m = ClaimedJitInfoExchange("DE-2026-9999");
  m.mutable_header()->set_message_id(scenario::FixedId(9901));
  m.mutable_header()->mutable_provenance()->add_derived_from(source.header().message_id());
  const Decision d = Decide(m, "NL-NP", &sources);
  EXPECT_EQ(Rule(d, "DP-CAT-02").verdict, VerdictKind::kPass) << d.explanation;
}

TEST(JitOnTheCase, ASourceDescribedOnlyByTheSenderDoesNotCount) {
  liaison::v1::Message m = ClaimedJitInfoExchange("DE-2026-9999");
  auto* p = m.mutable_header()->mutable_provenance();
  p->add_derived_from(scenario::FixedId(9902));
  auto* s = p->add_sources();
  s->set_message_id(scenario::FixedId(9902));
  s->set_provider("DE-BKA");
  s->set_jit_id("JIT-2025-014");
  InMemorySourceIndex none;
  const Decision d = Decide(m, "NL-NP", &none);
  EXPECT_EQ(Rule(d, "DP-CAT-02").verdict, VerdictKind::kRedact) << d.explanation;
}

TEST(JitOnTheCase, TheBrokerRecordsOnlyAJitTheRegistryEstablishes) {
  const Registry& registry = *scenario::DevRegistry();
  EXPECT_EQ(
      InMemorySourceIndex::RecordOf(ClaimedJitInfoExchange("DE-2026-9999"), {}, registry, T0())
          .ref.jit_id(),
      "");
  EXPECT_EQ(
      InMemorySourceIndex::RecordOf(ClaimedJitInfoExchange("DE-2025-4411"), {}, registry, T0())
          .ref.jit_id(),
      "JIT-2025-014");
  // The case is listed, but the JIT has ended.
  EXPECT_EQ(InMemorySourceIndex::RecordOf(
                ClaimedJitInfoExchange("DE-2025-4411"), {}, registry,
                absl::FromCivil(absl::CivilDay(2026, 6, 2), absl::UTCTimeZone()))
                .ref.jit_id(),
            "");
}

TEST(JitReuse, ASendersJitClaimDoesNotMakeReuseOnAnotherCaseInternal) {
  InMemorySourceIndex sources;
  sources.Add(scenario::Ac16SourceRecord());
  liaison::v1::Message m = scenario::Ac18ReuseOutsideJit();
  m.mutable_header()->set_jit_id("JIT-2025-014");  // the claim
  Input in = scenario::InputFor(m, "NL-NP");       // a member
  in.registry = scenario::DevRegistry().get();
  in.sources = &sources;
  const Verdict v = rules::JitReuseRule().Check(in);
  EXPECT_EQ(v.kind, VerdictKind::kHold) << v.reason;
}

}  // namespace
}  // namespace liaison::policy

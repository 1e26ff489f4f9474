// Chain semantics (docs/rules.md "How the chain decides"): every rule consulted,
// exemptions first, most restrictive wins, shadow mode, fail closed.
// The acceptance cases are in acceptance_test.cc.
#include "policy/chain.h"

#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policy/counters.h"
#include "policy/rules/all_rules.h"
#include "policy/sources.h"
#include "policy/testing/scenario.h"

namespace liaison::policy {
namespace {

using scenario::T0;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

Decision Decide(const Chain& chain, const liaison::v1::Message& m, std::string_view recipient,
                absl::Time now = T0()) {
  static SlidingWindowCounters* const counters = new SlidingWindowCounters();
  Input in = scenario::InputFor(m, recipient, now);
  in.counters = counters;
  return chain.Evaluate(in);
}

TEST(Chain, ConsultsEveryRuleOfTheCatalogueOnceWithExemptionsFirst) {
  const auto m = scenario::Ac03VictimInfoExchange();
  const Decision d = Decide(*scenario::DevChain(), m, "BG-GDNP");
  ASSERT_EQ(d.rules.size(), 30u);
  std::set<std::string> ids;
  for (const RuleResult& r : d.rules) ids.insert(r.rule_id.str());
  EXPECT_EQ(ids.size(), 30u);
  EXPECT_EQ(d.rules[0].rule_id, RuleId("DP-CHILD-02"));
  EXPECT_EQ(d.rules[1].rule_id, RuleId("DP-QUAL-02"));
  EXPECT_EQ(d.rules[2].rule_id, RuleId("DP-BASIS-01"));
  EXPECT_EQ(d.rules.back().rule_id, RuleId("DP-LOG-01"));
}

TEST(Chain, TheMostRestrictiveVerdictWinsAndLesserHitsAreStillRecorded) {
  const Decision d = Decide(*scenario::DevChain(), scenario::Ac02MissingChildAlertWide(), "MD-IGP");
  EXPECT_EQ(d.outcome, liaison::v1::OUTCOME_REJECT);
  EXPECT_THAT(d.HitRuleIds(),
              ElementsAre("DP-PURPOSE-01", "DP-CHILD-01", "DP-HC-01", "DP-XFER-01"));
  EXPECT_THAT(d.explanation, HasSubstr("(also: DP-CHILD-01 REDACT, DP-HC-01 obligations)"));
  EXPECT_FALSE(d.redaction_steps.empty());  // kept for the record
}

TEST(Chain, AHoldKeepsTheRedactionsALaterReleaseNeeds) {
  InMemorySourceIndex sources;
  sources.Add(scenario::Ac07SourceM700());
  auto m = scenario::Ac07DerivedFromH2();
  m.mutable_info()->mutable_entities(0)->mutable_person()->clear_categories();
  m.mutable_info()->mutable_entities(0)->mutable_person()->add_categories(
      liaison::v1::SUBJECT_CATEGORY_VICTIM);
  SlidingWindowCounters counters;
  Input in = scenario::InputFor(m, "ES-PN");
  in.sources = &sources;
  in.counters = &counters;
  const Decision d = scenario::DevChain()->Evaluate(in);
  EXPECT_EQ(d.outcome, liaison::v1::OUTCOME_HOLD);
  EXPECT_THAT(d.DecidingRuleIds(), ElementsAre("DP-HC-03"));
  ASSERT_EQ(d.redactions.size(), 1u);
  EXPECT_EQ(d.redactions[0].rule_id(), "DP-CAT-02");
}

TEST(Chain, TheReplacementOfARectificationPassesEveryOtherRule) {
  InMemorySourceIndex sources;
  sources.Add(scenario::Ac01SourceRecord());
  SlidingWindowCounters counters;
  auto m = scenario::Ac23EraseCorrection();
  m.mutable_correction()->set_action(liaison::v1::CORRECTION_ACTION_RECTIFY);
  *m.mutable_correction()->mutable_info() = scenario::Ac03VictimInfoExchange().info();
  Input in = scenario::InputFor(m, "BG-GDNP");
  in.sources = &sources;
  in.counters = &counters;
  const Decision d = scenario::DevChain()->Evaluate(in);
  EXPECT_EQ(d.outcome, liaison::v1::OUTCOME_REDACT) << d.explanation;
  // The correction's purpose (LOCATE_MISSING_PERSON) also trims the suspect's account.
  EXPECT_THAT(d.DecidingRuleIds(), ElementsAre("DP-CAT-02", "DP-MIN-01"));
  EXPECT_THAT(d.explanation,
              HasSubstr("identity of correction.info.entities[0] redacted for BG-GDNP"));
  EXPECT_THAT(d.explanation, HasSubstr("correction.info.entities[1].person.account_refs"));
  EXPECT_EQ(d.Find(RuleId("DP-PURPOSE-01"))->mode, RuleMode::kExempted);
}

TEST(Chain, ShadowRulesAreRecordedButNotEnforced) {
  auto chain =
      Chain::Create(scenario::DevRegistry(), ChainOptions{.shadow_rules = {"DP-PURPOSE-01"}});
  ASSERT_TRUE(chain.ok()) << chain.status();
  const Decision d = Decide(**chain, scenario::Ac04ProtectVictimToSe(), "SE-NOA");
  EXPECT_EQ(d.outcome, liaison::v1::OUTCOME_REDACT);  // DP-CAT-02 still applies
  const RuleResult* purpose = d.Find(RuleId("DP-PURPOSE-01"));
  ASSERT_NE(purpose, nullptr);
  EXPECT_EQ(purpose->mode, RuleMode::kShadow);
  EXPECT_EQ(purpose->verdict, VerdictKind::kReject);
  EXPECT_THAT(d.explanation,
              HasSubstr("[shadow, not enforced: DP-PURPOSE-01: purpose PROTECT_VICTIM"));
  EXPECT_NE((*chain)->policy_version(), scenario::DevChain()->policy_version());
}

TEST(Chain, TheRegistryCanPutRulesInShadowMode) {
  liaison::v1::Registry proto = scenario::DevRegistry()->proto();
  proto.add_shadow_rules("DP-BASIS-01");
  auto registry = Registry::FromProto(proto);
  ASSERT_TRUE(registry.ok());
  auto chain = Chain::Create(*registry);
  ASSERT_TRUE(chain.ok());
  const Decision d = Decide(**chain, scenario::Ac05NoLegalBasis(), "FR-OCRTEH");
  EXPECT_EQ(d.outcome, liaison::v1::OUTCOME_ALLOW);
  EXPECT_EQ(d.Find(RuleId("DP-BASIS-01"))->mode, RuleMode::kShadow);
}

TEST(Chain, RefusesAnUnknownShadowRuleId) {
  auto chain = Chain::Create(scenario::DevRegistry(), ChainOptions{.shadow_rules = {"DP-NOPE-01"}});
  ASSERT_FALSE(chain.ok());
  EXPECT_EQ(chain.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(Chain, NoExemptionCanEverSwitchOffTransferRetentionOrLogRules) {
  for (const auto& rule : MakeAllRules()) {
    for (RuleId target : rule->MayExempt()) {
      const std::string t = target.str();
      EXPECT_NE(t.rfind("DP-XFER-", 0), 0u) << rule->id().str() << " exempts " << t;
      EXPECT_NE(t.rfind("DP-RET-", 0), 0u) << rule->id().str() << " exempts " << t;
      EXPECT_NE(t, "DP-LOG-01") << rule->id().str();
    }
  }
}

TEST(Chain, FailsClosedWithoutADecisionTime) {
  const auto m = scenario::Ac03VictimInfoExchange();
  Input in = scenario::InputFor(m, "FR-OCRTEH");
  in.now = absl::InfinitePast();
  const Decision d = scenario::DevChain()->Evaluate(in);
  EXPECT_EQ(d.outcome, liaison::v1::OUTCOME_REJECT);
  EXPECT_THAT(d.DecidingRuleIds(), ElementsAre("POLICY-INPUT"));
  EXPECT_THAT(d.explanation, HasSubstr("decision time (Input.now) not set"));
}

TEST(Chain, FailsClosedWithoutAMessage) {
  Input in;
  in.recipient = "FR-OCRTEH";
  in.now = T0();
  const Decision d = scenario::DevChain()->Evaluate(in);
  EXPECT_EQ(d.outcome, liaison::v1::OUTCOME_REJECT);
}

TEST(Chain, FailsClosedForARecipientMissingFromTheRegistry) {
  const Decision d = Decide(*scenario::DevChain(), scenario::Ac03VictimInfoExchange(), "XX-NONE");
  EXPECT_EQ(d.outcome, liaison::v1::OUTCOME_REJECT);
  EXPECT_THAT(d.DecidingRuleIds(), Contains("DP-BASIS-01"));
  EXPECT_THAT(d.explanation, HasSubstr("cannot decide: recipient XX-NONE is not in the registry"));
}

TEST(Chain, FailsClosedWithoutVolumeCounters) {
  const auto m = scenario::Ac03VictimInfoExchange();
  const Decision d = scenario::DevChain()->Evaluate(scenario::InputFor(m, "FR-OCRTEH"));
  EXPECT_EQ(d.outcome, liaison::v1::OUTCOME_REJECT);
  EXPECT_THAT(d.DecidingRuleIds(), ElementsAre("DP-BULK-01"));
}

TEST(Chain, UsesTheRegistryOfTheInputWhenGiven) {
  liaison::v1::Registry proto = scenario::DevRegistry()->proto();
  proto.set_version("other-1");
  auto other = Registry::FromProto(proto);
  ASSERT_TRUE(other.ok());
  SlidingWindowCounters counters;
  const auto m = scenario::Ac03VictimInfoExchange();
  Input in = scenario::InputFor(m, "FR-OCRTEH");
  in.registry = other->get();
  in.counters = &counters;
  EXPECT_THAT(scenario::DevChain()->Evaluate(in).registry_version, HasSubstr("other-1+"));
}

TEST(Chain, DecisionsAreDeterministicAndCarryTheirVersions) {
  const auto m = scenario::Ac02MissingChildAlertWide();
  const Decision a = Decide(*scenario::DevChain(), m, "GB-NCA");
  const Decision b = Decide(*scenario::DevChain(), m, "GB-NCA");
  EXPECT_EQ(ToProto(a).SerializeAsString(), ToProto(b).SerializeAsString());
  const liaison::v1::PolicyDecision p = ToProto(a);
  EXPECT_EQ(p.outcome(), liaison::v1::OUTCOME_HOLD);
  EXPECT_EQ(p.message_id(), m.header().message_id());
  EXPECT_EQ(p.recipient(), "GB-NCA");
  EXPECT_EQ(p.rules_size(), 30);
  ASSERT_EQ(p.holds_size(), 1);
  EXPECT_EQ(p.holds(0).timeout().seconds(), 7200);
  EXPECT_EQ(p.holds(0).expires_at().seconds(), absl::ToUnixSeconds(T0() + absl::Hours(2)));
  EXPECT_THAT(p.deciding_rule_ids(), ElementsAre("DP-CHILD-01"));
  EXPECT_EQ(p.transfer().ref(), "EU-2021/1773");
  EXPECT_EQ(p.registry_version(), scenario::DevRegistry()->version());
  EXPECT_THAT(p.policy_version(), HasSubstr("liaison-policy/1+"));
}

TEST(Chain, EvaluateIsSafeFromManyThreadsAtOnce) {
  const auto m = scenario::Ac03VictimInfoExchange();
  const std::string expected_bg =
      ToProto(Decide(*scenario::DevChain(), m, "BG-GDNP")).SerializeAsString();
  const std::string expected_fr =
      ToProto(Decide(*scenario::DevChain(), m, "FR-OCRTEH")).SerializeAsString();
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      SlidingWindowCounters counters;
      for (int i = 0; i < 200; ++i) {
        const char* r = (i + t) % 2 == 0 ? "BG-GDNP" : "FR-OCRTEH";
        Input in = scenario::InputFor(m, r);
        in.counters = &counters;
        const std::string got = ToProto(scenario::DevChain()->Evaluate(in)).SerializeAsString();
        if (got != ((i + t) % 2 == 0 ? expected_bg : expected_fr)) ++mismatches;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches.load(), 0);
}

TEST(Chain, ObligationsAreUnionedWithoutDuplicates) {
  const Decision d = Decide(*scenario::DevChain(), scenario::Ac01MissingChildAlert(), "DE-BKA");
  std::set<std::string> keys;
  for (const auto& o : d.obligations) keys.insert(o.rule_id() + "/" + o.code());
  EXPECT_EQ(keys.size(), d.obligations.size());
  EXPECT_THAT(d.holds, IsEmpty());
}

}  // namespace
}  // namespace liaison::policy

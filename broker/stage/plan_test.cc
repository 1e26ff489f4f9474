// The stage's plan (plan.h) for scenario messages decided by the development
// chain: which recipients get which body, what is audited, who is told
// what, what is held and what the books learn. No Kafka, no gRPC, no
// signing: the plan is built from plain inputs.
#include "broker/stage/plan.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/proto_time.h"
#include "broker/core/ids.h"
#include "broker/stage/decide.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policy/counters.h"
#include "policy/testing/scenario.h"

namespace liaison::broker {
namespace {

namespace scenario = policy::scenario;
using liaison::v1::Message;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;

// The books and inputs of one node deciding scenario messages at T0.
struct World {
  policy::SlidingWindowCounters counters;
  policy::InMemorySourceIndex sources;
  policy::InMemoryConsentIndex consents;
  scenario::TestPseudonymiser pseudonymiser;
  liaison::v1::IngressRecord ingress;
  Message message;

  // The context for `m` as the stage builds it (digests are stand-ins: the
  // plan copies them, never computes them).
  PlanContext ContextFor(const Message& m, absl::Time now = scenario::T0(),
                         FlowStep step = FlowStep::kDecided) {
    message = m;
    ingress.Clear();
    ingress.mutable_envelope()->set_message(m.SerializeAsString());
    *ingress.mutable_accepted_at() = ToProto(scenario::T0() - absl::Seconds(1));
    PlanContext c;
    c.ingress = &ingress;
    c.message = &message;
    c.payload_sha256 = "payload-sha";
    c.case_ref_hash = "case-hash";
    c.message_bytes = ingress.envelope().message().size();
    c.registry = &scenario::DevChain()->registry();
    c.policy_version = scenario::DevChain()->policy_version();
    c.broker_id = "broker-1";
    c.now = now;
    c.step = step;
    c.ingress_partition = 3;
    return c;
  }

  // Decides `m` for `recipients` with the development chain and plans it.
  Plan PlanFor(const Message& m, const std::vector<std::string>& recipients,
               const policy::SourceRecord* known_source = nullptr,
               std::optional<LinkageLookup> linkage = std::nullopt) {
    PlanInput in;
    in.linkage = std::move(linkage);
    in.context = ContextFor(m);
    in.consent = PlanConsent(in.context);
    if (in.consent.has_value() && in.consent->record.ok()) consents.Add(*in.consent->record);
    in.decisions = DecideEach(*scenario::DevChain(), message, recipients, in.context.message_bytes,
                              in.context.now, {&counters, &sources, &consents});
    in.known_source = known_source;
    in.pseudonymiser = &pseudonymiser;
    return PlanDecision(std::move(in));
  }
};

std::vector<std::string> Recipients(const liaison::v1::Attestation& a) {
  return {a.recipients().begin(), a.recipients().end()};
}

const liaison::v1::Notice* FindNotice(const Plan& plan, liaison::v1::NoticeKind kind,
                                      const std::string& recipient) {
  for (const liaison::v1::Notice& n : plan.notices) {
    if (n.kind() == kind && n.recipient() == recipient) return &n;
  }
  return nullptr;
}

TEST(PlanDecision, AllowToSeveralRecipientsWithTheSameObligationsIsOneGroupOfTheOriginal) {
  World w;
  const Message alert = scenario::TypicalAlert();
  const Plan plan = w.PlanFor(alert, scenario::BenchRecipients());

  ASSERT_THAT(plan.deliveries, SizeIs(1));
  const DeliveryGroup& g = plan.deliveries[0];
  EXPECT_THAT(g.recipients, ::testing::ElementsAreArray(scenario::BenchRecipients()));
  EXPECT_FALSE(g.derived_message.has_value());  // the sender's envelope, unchanged
  EXPECT_EQ(g.attestation.outcome(), liaison::v1::OUTCOME_ALLOW);
  EXPECT_THAT(Recipients(g.attestation), ::testing::ElementsAreArray(scenario::BenchRecipients()));
  EXPECT_EQ(g.attestation.message_id(), alert.header().message_id());
  EXPECT_EQ(g.attestation.original_sha256(), "payload-sha");
  EXPECT_TRUE(g.attestation.content_sha256().empty());  // the applier hashes what it delivers
  EXPECT_FALSE(g.attestation.derived());
  EXPECT_EQ(FromProto(g.attestation.decided_at()), scenario::T0());
  EXPECT_EQ(FromProto(g.attestation.accepted_at()), scenario::T0() - absl::Seconds(1));
  EXPECT_THAT(plan.holds, IsEmpty());
  EXPECT_THAT(plan.underivable, IsEmpty());
  for (const liaison::v1::Notice& n : plan.notices) {
    EXPECT_NE(n.kind(), liaison::v1::NOTICE_KIND_NON_DELIVERY) << n.ShortDebugString();
  }
}

TEST(PlanDecision, AuditsOneEntryPerRecipientInTheOrderDecided) {
  World w;
  const Message alert = scenario::TypicalAlert();
  const Plan plan = w.PlanFor(alert, scenario::BenchRecipients());

  ASSERT_THAT(plan.audit, SizeIs(scenario::BenchRecipients().size()));
  ASSERT_THAT(plan.flow, SizeIs(plan.audit.size()));
  for (size_t i = 0; i < plan.audit.size(); ++i) {
    const liaison::v1::AuditEntry& a = plan.audit[i];
    SCOPED_TRACE(a.recipient());
    EXPECT_EQ(a.recipient(), scenario::BenchRecipients()[i]);
    EXPECT_EQ(a.message_id(), alert.header().message_id());
    EXPECT_EQ(a.sender(), "RO-IGPR");
    EXPECT_EQ(a.event(), "decided");
    EXPECT_EQ(a.decision(), liaison::v1::OUTCOME_ALLOW);
    EXPECT_EQ(a.operation(), liaison::v1::AUDIT_OPERATION_DISCLOSURE);
    EXPECT_EQ(a.payload_sha256(), "payload-sha");
    EXPECT_EQ(a.case_ref_hash(), "case-hash");
    EXPECT_EQ(a.broker_id(), "broker-1");
    EXPECT_EQ(FromProto(a.ts()), scenario::T0());
    EXPECT_EQ(plan.flow[i].recipient, a.recipient());
    EXPECT_EQ(plan.flow[i].step, FlowStep::kDecided);
    EXPECT_EQ(plan.flow[i].outcome, liaison::v1::OUTCOME_ALLOW);
  }
}

TEST(PlanDecision, RedactForOneRecipientIsAGroupOfItsOwnWithTheRedactedBodyAndRules) {
  World w;
  const Message alert = scenario::TypicalAlertWithVictim();
  const Plan plan = w.PlanFor(alert, scenario::BenchRecipients());

  std::vector<std::string> redacted_for;
  for (size_t i = 0; i < plan.flow.size(); ++i) {
    if (plan.flow[i].outcome == liaison::v1::OUTCOME_REDACT) {
      redacted_for.push_back(plan.flow[i].recipient);
      EXPECT_EQ(plan.audit[i].operation(), liaison::v1::AUDIT_OPERATION_ALTERATION);
      EXPECT_THAT(plan.audit[i].redacted_paths(), Not(IsEmpty()));
    }
  }
  ASSERT_THAT(redacted_for, Not(IsEmpty())) << "the scenario redacts for recipients without "
                                               "VICTIM_PROTECTION";
  for (const std::string& r : redacted_for) {
    SCOPED_TRACE(r);
    const DeliveryGroup* group = nullptr;
    for (const DeliveryGroup& g : plan.deliveries) {
      for (const std::string& gr : g.recipients) {
        if (gr == r) group = &g;
      }
    }
    ASSERT_NE(group, nullptr);
    EXPECT_THAT(group->recipients, ElementsAre(r));  // never shared with another recipient
    ASSERT_TRUE(group->derived_message.has_value());
    EXPECT_TRUE(group->attestation.derived());
    EXPECT_EQ(group->attestation.outcome(), liaison::v1::OUTCOME_REDACT);
    EXPECT_THAT(Recipients(group->attestation), ElementsAre(r));
    ASSERT_THAT(group->attestation.redactions(), Not(IsEmpty()));
    for (const liaison::v1::Redaction& red : group->attestation.redactions()) {
      EXPECT_FALSE(red.rule_id().empty());
      EXPECT_THAT(group->attestation.rule_ids(), ::testing::Contains(red.rule_id()));
    }
    // The body is what policy::Redact derives for this recipient.
    Message derived;
    ASSERT_TRUE(derived.ParseFromString(*group->derived_message));
    EXPECT_EQ(derived.header().message_id(), alert.header().message_id());
    EXPECT_NE(*group->derived_message, alert.SerializeAsString());
    const policy::Decision d = scenario::DevChain()->Evaluate(
        DecisionInput(alert, r, w.ingress.envelope().message().size(), scenario::T0(),
                      {&w.counters, &w.sources, &w.consents}));
    absl::StatusOr<Message> expected = policy::Redact(alert, d, w.pseudonymiser, r);
    ASSERT_TRUE(expected.ok()) << expected.status();
    EXPECT_EQ(*group->derived_message, expected->SerializeAsString());
  }
  // The others share the original.
  ASSERT_FALSE(plan.deliveries.front().derived_message.has_value());
  EXPECT_THAT(plan.deliveries.front().recipients,
              SizeIs(scenario::BenchRecipients().size() - redacted_for.size()));
}

TEST(PlanDecision, RejectTellsTheSenderWhichRuleAndDeliversNothing) {
  World w;
  const Message alert = scenario::Ac02MissingChildAlertWide();
  const Plan plan = w.PlanFor(alert, {"MD-IGP"});

  EXPECT_THAT(plan.deliveries, IsEmpty());
  EXPECT_THAT(plan.holds, IsEmpty());
  EXPECT_FALSE(plan.source.has_value());
  const liaison::v1::Notice* n = FindNotice(plan, liaison::v1::NOTICE_KIND_NON_DELIVERY, "MD-IGP");
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->addressee(), alert.header().sender());
  EXPECT_EQ(n->message_id(), alert.header().message_id());
  EXPECT_THAT(n->rule_ids(), ElementsAre("DP-PURPOSE-01", "DP-XFER-01"));
  ASSERT_THAT(n->reasons(), SizeIs(1));
  EXPECT_THAT(n->reasons(0), ::testing::HasSubstr("DP-PURPOSE-01"));
  ASSERT_THAT(plan.audit, SizeIs(1));
  EXPECT_EQ(plan.audit[0].decision(), liaison::v1::OUTCOME_REJECT);
  EXPECT_EQ(plan.audit[0].operation(), liaison::v1::AUDIT_OPERATION_REFUSAL);
}

TEST(PlanDecision, HoldIsKeptUnderItsDeterministicIdAndTheSenderIsAskedToApprove) {
  World w;
  const Message alert = scenario::Ac02MissingChildAlertWide();
  const Plan plan = w.PlanFor(alert, {"GB-NCA"});

  ASSERT_THAT(plan.holds, SizeIs(1));
  const liaison::v1::HeldDelivery& held = plan.holds[0];
  const std::string hold_id =
      HoldIdOf(MessageId(alert.header().message_id()), EndpointId("GB-NCA")).value();
  EXPECT_EQ(held.hold_id(), hold_id);
  EXPECT_EQ(held.outcome(), liaison::v1::OUTCOME_HOLD);
  EXPECT_EQ(held.recipient(), "GB-NCA");
  EXPECT_EQ(held.ingress_partition(), 3);
  EXPECT_EQ(held.ingress().envelope().message(), alert.SerializeAsString());
  ASSERT_THAT(held.holds(), SizeIs(1));
  EXPECT_EQ(held.holds(0).awaiting(), "RO-IGPR");
  EXPECT_THAT(plan.deliveries, IsEmpty());
  EXPECT_FALSE(plan.source.has_value());
  ASSERT_THAT(plan.audit, SizeIs(1));
  EXPECT_EQ(plan.audit[0].operation(), liaison::v1::AUDIT_OPERATION_RETENTION);

  const liaison::v1::Notice* told = FindNotice(plan, liaison::v1::NOTICE_KIND_HELD, "GB-NCA");
  ASSERT_NE(told, nullptr);
  EXPECT_EQ(told->addressee(), "RO-IGPR");
  EXPECT_EQ(told->hold_id(), hold_id);
  EXPECT_THAT(told->rule_ids(), ElementsAre("DP-CHILD-01"));
  // The awaited approver is the sender itself (DP-CHILD-01 third country).
  const liaison::v1::Notice* asked =
      FindNotice(plan, liaison::v1::NOTICE_KIND_CONSENT_REQUESTED, "GB-NCA");
  ASSERT_NE(asked, nullptr);
  EXPECT_EQ(asked->addressee(), "RO-IGPR");
  EXPECT_EQ(asked->hold_id(), hold_id);
}

TEST(PlanDecision, DelayIsAHoldUntilNotBeforeWithADelayedNotice) {
  World w;
  const Message later = scenario::Ac09NotBefore();
  const Plan plan = w.PlanFor(later, {"NL-NP"});

  ASSERT_THAT(plan.holds, SizeIs(1));
  const std::string hold_id =
      HoldIdOf(MessageId(later.header().message_id()), EndpointId("NL-NP")).value();
  EXPECT_EQ(plan.holds[0].hold_id(), hold_id);
  EXPECT_EQ(plan.holds[0].outcome(), liaison::v1::OUTCOME_DELAY);
  EXPECT_EQ(FromProto(plan.holds[0].not_before()), scenario::T0() + absl::Hours(6));
  const liaison::v1::Notice* n = FindNotice(plan, liaison::v1::NOTICE_KIND_DELAYED, "NL-NP");
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->addressee(), later.header().sender());
  EXPECT_EQ(n->hold_id(), hold_id);
  EXPECT_EQ(FromProto(n->due()), scenario::T0() + absl::Hours(6));
  EXPECT_THAT(n->rule_ids(), ElementsAre("DP-HC-04"));
  EXPECT_THAT(plan.deliveries, IsEmpty());
}

TEST(PlanDecision, ConsentIsAuditedFirstAndRecordedForTheConsentBook) {
  World w;
  const Message alert = scenario::Ac02MissingChildAlertWide();
  const policy::ConsentRecord grant =
      scenario::Consent("RO-IGPR", liaison::v1::CONSENT_KIND_SENDER_APPROVAL, "RO-IGPR",
                        {alert.header().message_id()}, scenario::T0() + absl::Hours(2));
  const Message consent = scenario::ConsentMessage(grant, scenario::FixedId(700));
  std::vector<std::string> to(consent.header().recipients().begin(),
                              consent.header().recipients().end());
  const Plan plan = w.PlanFor(consent, to);

  ASSERT_TRUE(plan.consent.has_value());
  EXPECT_EQ(plan.consent->grantor, "RO-IGPR");
  EXPECT_EQ(plan.consent->grant.kind(), liaison::v1::CONSENT_KIND_SENDER_APPROVAL);
  EXPECT_THAT(plan.consent->grant.message_ids(), ElementsAre(alert.header().message_id()));
  EXPECT_EQ(plan.consent->recorded_at, scenario::T0());
  ASSERT_THAT(plan.audit, SizeIs(1 + to.size()));
  EXPECT_EQ(plan.audit[0].event(), "consent_recorded");
  EXPECT_EQ(plan.audit[0].operation(), liaison::v1::AUDIT_OPERATION_COLLECTION);
  EXPECT_EQ(plan.audit[0].decision(), liaison::v1::OUTCOME_ALLOW);
  EXPECT_TRUE(plan.audit[0].recipient().empty());

  // With the consent in the book, the held GB-NCA copy is now allowed.
  const Plan released = w.PlanFor(alert, {"GB-NCA"});
  ASSERT_THAT(released.flow, SizeIs(1));
  EXPECT_EQ(released.flow[0].outcome, liaison::v1::OUTCOME_ALLOW);
}

TEST(PlanDecision, AnUnusableConsentIsAuditedAsSuchAndNotRecorded) {
  World w;
  Message consent = scenario::ConsentMessage(
      scenario::Consent("RO-IGPR", liaison::v1::CONSENT_KIND_SENDER_APPROVAL, "RO-IGPR",
                        {scenario::Ac01Id()}, scenario::T0() + absl::Hours(2)),
      scenario::FixedId(701));
  consent.clear_consent();
  const Plan plan = w.PlanFor(consent, {});

  EXPECT_FALSE(plan.consent.has_value());
  ASSERT_THAT(plan.audit, SizeIs(1));
  EXPECT_EQ(plan.audit[0].event(), "consent_unusable");
  EXPECT_EQ(plan.audit[0].decision(), liaison::v1::OUTCOME_REJECT);
}

TEST(PlanDecision, ReleasedHoldRecordsNoConsentAgain) {
  World w;
  const Message consent = scenario::ConsentMessage(
      scenario::Consent("RO-IGPR", liaison::v1::CONSENT_KIND_SENDER_APPROVAL, "RO-IGPR",
                        {scenario::Ac01Id()}, scenario::T0() + absl::Hours(2)),
      scenario::FixedId(702));
  EXPECT_FALSE(PlanConsent(w.ContextFor(consent, scenario::T0(), FlowStep::kReleased)).has_value());
  EXPECT_TRUE(PlanConsent(w.ContextFor(consent, scenario::T0(), FlowStep::kDecided)).has_value());
}

TEST(PlanDecision, DeliveriesAddTheirRecipientsToTheSourceRecord) {
  World w;
  const Message alert = scenario::Ac01MissingChildAlert();
  const Plan first = w.PlanFor(alert, scenario::Ac01Recipients());
  ASSERT_TRUE(first.source.has_value());
  EXPECT_EQ(first.source->ingress_partition, 3);
  EXPECT_EQ(first.source->erase_by, scenario::T0() + absl::Hours(24 * 30));
  std::vector<std::string> delivered;
  for (const FlowEvent& f : first.flow) {
    if (f.outcome == liaison::v1::OUTCOME_ALLOW || f.outcome == liaison::v1::OUTCOME_REDACT) {
      delivered.push_back(f.recipient);
    }
  }
  ASSERT_THAT(delivered, SizeIs(scenario::Ac01Recipients().size()));
  EXPECT_THAT(first.source->record.delivered_to, ::testing::ElementsAreArray(delivered));
  EXPECT_EQ(first.source->record.ref.message_id(), alert.header().message_id());

  // A later decision (a released hold) adds its recipient to what the book
  // knows, once, after the others.
  policy::SourceRecord known = first.source->record;
  known.delivered_to = {delivered[1], delivered[0]};
  const Plan again = w.PlanFor(alert, {delivered[0], delivered[2]}, &known);
  ASSERT_TRUE(again.source.has_value());
  EXPECT_THAT(again.source->record.delivered_to,
              ElementsAre(delivered[1], delivered[0], delivered[2]));
}

TEST(PlanDecision, NothingDeliveredLeavesTheSourceBookAlone) {
  World w;
  const Plan plan = w.PlanFor(scenario::Ac05NoLegalBasis(), {"BG-GDNP", "FR-OCRTEH"});
  EXPECT_FALSE(plan.source.has_value());
  EXPECT_THAT(plan.deliveries, IsEmpty());
  EXPECT_NE(FindNotice(plan, liaison::v1::NOTICE_KIND_NON_DELIVERY, "BG-GDNP"), nullptr);
  EXPECT_NE(FindNotice(plan, liaison::v1::NOTICE_KIND_NON_DELIVERY, "FR-OCRTEH"), nullptr);
}

TEST(PlanDecision, AnOriginalCarryingWhatNoRecipientMayReceiveIsDeliveredAsADerivedCopy) {
  World w;
  Message alert = scenario::TypicalAlert();
  alert.mutable_header()->set_strict_necessity("ZZTEST justification for the DPO");
  const Plan plan = w.PlanFor(alert, scenario::BenchRecipients());
  ASSERT_THAT(plan.deliveries, SizeIs(scenario::BenchRecipients().size()));
  for (const DeliveryGroup& g : plan.deliveries) {
    ASSERT_TRUE(g.derived_message.has_value());
    EXPECT_THAT(g.recipients, SizeIs(1));
    EXPECT_EQ(g.attestation.outcome(), liaison::v1::OUTCOME_ALLOW);
    Message derived;
    ASSERT_TRUE(derived.ParseFromString(*g.derived_message));
    EXPECT_TRUE(derived.header().strict_necessity().empty());
  }
}

TEST(PlanDecision, ACopyThatCannotBeDerivedIsNotDeliveredAndTheSenderIsTold) {
  World w;
  const Message alert = scenario::TypicalAlertWithVictim();
  PlanInput in;
  in.context = w.ContextFor(alert);
  in.decisions =
      DecideEach(*scenario::DevChain(), w.message, scenario::BenchRecipients(),
                 in.context.message_bytes, in.context.now, {&w.counters, &w.sources, &w.consents});
  // A decision for another recipient than the one it names: Redact refuses.
  std::string victim;
  for (Decided& d : in.decisions) {
    if (d.decision.outcome == liaison::v1::OUTCOME_REDACT && victim.empty()) {
      victim = d.recipient;
      d.decision.recipient = "XX-NOBODY";
    }
  }
  ASSERT_FALSE(victim.empty());
  in.pseudonymiser = &w.pseudonymiser;
  const Plan plan = PlanDecision(std::move(in));

  for (const DeliveryGroup& g : plan.deliveries) {
    EXPECT_THAT(g.recipients, Not(::testing::Contains(victim)));
  }
  ASSERT_THAT(plan.underivable, SizeIs(1));
  EXPECT_EQ(plan.underivable[0].first, victim);
  const liaison::v1::Notice* n = FindNotice(plan, liaison::v1::NOTICE_KIND_NON_DELIVERY, victim);
  ASSERT_NE(n, nullptr);
  EXPECT_THAT(n->rule_ids(), ElementsAre("POLICY-REDACT"));
  EXPECT_EQ(&plan.notices.back(), n);  // after every decision's own notices
}

TEST(PlanDecision, OperationFollowsOutcomeKindAndThirdCountry) {
  using liaison::v1::KIND_INFO_EXCHANGE;
  EXPECT_EQ(OperationFor(liaison::v1::OUTCOME_ALLOW, KIND_INFO_EXCHANGE, false),
            liaison::v1::AUDIT_OPERATION_DISCLOSURE);
  EXPECT_EQ(OperationFor(liaison::v1::OUTCOME_REDACT, KIND_INFO_EXCHANGE, false),
            liaison::v1::AUDIT_OPERATION_ALTERATION);
  EXPECT_EQ(OperationFor(liaison::v1::OUTCOME_REDACT, KIND_INFO_EXCHANGE, true),
            liaison::v1::AUDIT_OPERATION_TRANSFER);
  EXPECT_EQ(OperationFor(liaison::v1::OUTCOME_ALLOW, liaison::v1::KIND_LINKAGE_QUERY, true),
            liaison::v1::AUDIT_OPERATION_CONSULTATION);
  EXPECT_EQ(OperationFor(liaison::v1::OUTCOME_DELAY, KIND_INFO_EXCHANGE, false),
            liaison::v1::AUDIT_OPERATION_RETENTION);
  EXPECT_EQ(OperationFor(liaison::v1::OUTCOME_REJECT, KIND_INFO_EXCHANGE, false),
            liaison::v1::AUDIT_OPERATION_REFUSAL);
}

// DecideEach counts what is forwarded before the next recipient is decided,
// under the decision's transfer basis, derived copies included. (Before the
// plan, a derived copy's decision was moved away before it was counted, so a
// derogation transfer delivered as a derived copy was counted as none, and
// DP-XFER-03's repeat check saw fewer derogations than were made.)
TEST(DecideEach, CountsADerogationTransferDeliveredAsADerivedCopy) {
  World w;
  Message m = scenario::Ac11SuspectsToMd(1, scenario::Ac11Basis::kDerogation38C);
  m.mutable_header()->set_strict_necessity("ZZTEST justification for the DPO");
  const Plan plan = w.PlanFor(m, {"MD-IGP"});
  ASSERT_THAT(plan.flow, SizeIs(1));
  ASSERT_EQ(plan.flow[0].outcome, liaison::v1::OUTCOME_ALLOW);
  ASSERT_THAT(plan.deliveries, SizeIs(1));
  EXPECT_TRUE(plan.deliveries[0].derived_message.has_value());
  EXPECT_EQ(w.counters.Sum("DE-BKA", "MD-IGP", policy::Metric::kDerogations, absl::Hours(1),
                           scenario::T0()),
            1);
  EXPECT_EQ(
      w.counters.Sum("DE-BKA", "MD-IGP", policy::Metric::kPersons, absl::Hours(1), scenario::T0()),
      1);
}

TEST(DecideEach, NothingIsCountedForWhatIsNotForwarded) {
  World w;
  const Plan plan = w.PlanFor(scenario::Ac02MissingChildAlertWide(), {"MD-IGP", "GB-NCA"});
  for (const char* r : {"MD-IGP", "GB-NCA"}) {
    EXPECT_EQ(w.counters.Sum("RO-IGPR", r, policy::Metric::kBytes, absl::Hours(1), scenario::T0()),
              0)
        << r;
  }
}

// What the stage's lookup would find for AC-14's query: RO-IGPR holds the
// IBAN (identifier 0) under two cases and DE-BKA the IBAN too; the phone
// (identifier 1) is nobody's. MD-IGP also holds it, but the chain refuses
// ES-PN a search there, so the plan must never disclose it.
LinkageLookup Ac14Lookup() {
  LinkageLookup l;
  l.matches = {{0, "DE-BKA", "LNK-DE-0007", "hash-de-7"},
               {0, "MD-IGP", "LNK-MD-0001", "hash-md-1"},
               {0, "RO-IGPR", "LNK-7Q2M-0001", "hash-ro-1"},
               {0, "RO-IGPR", "LNK-7Q2M-0002", "hash-ro-2"}};
  return l;
}

TEST(PlanLinkageQuery, IsAnsweredByTheBrokerNotForwarded) {
  World w;
  const Message query = scenario::Ac14LinkageQuery();
  const Plan plan = w.PlanFor(query, {"RO-IGPR", "DE-BKA", "MD-IGP"}, nullptr, Ac14Lookup());

  // One delivery: the broker's reply to the querier. The owners get no copy
  // of the query, and nothing is recorded as forwarded.
  ASSERT_THAT(plan.deliveries, SizeIs(1));
  const DeliveryGroup& g = plan.deliveries[0];
  EXPECT_THAT(g.recipients, ElementsAre("ES-PN"));
  EXPECT_FALSE(plan.source.has_value());
  const liaison::v1::Attestation& a = g.attestation;
  EXPECT_TRUE(a.broker_authored());
  EXPECT_TRUE(a.derived());
  EXPECT_EQ(a.sender(), "broker-1");
  EXPECT_EQ(a.kind(), liaison::v1::KIND_LINKAGE_REPLY);
  EXPECT_THAT(Recipients(a), ElementsAre("ES-PN"));
  EXPECT_EQ(a.original_sha256(), "payload-sha");  // bound to the query's signed bytes
  EXPECT_EQ(a.message_id(), g.message_id);
  EXPECT_EQ(
      g.message_id,
      LinkageReplyIdOf(MessageId(query.header().message_id()), {"RO-IGPR", "DE-BKA"}).value());

  ASSERT_TRUE(g.derived_message.has_value());
  Message reply;
  ASSERT_TRUE(reply.ParseFromString(*g.derived_message));
  EXPECT_EQ(reply.header().message_id(), g.message_id);
  EXPECT_EQ(reply.header().sender(), "broker-1");
  EXPECT_EQ(reply.header().in_reply_to(), query.header().message_id());
  EXPECT_THAT(reply.header().recipients(), ElementsAre("ES-PN"));
  const liaison::v1::LinkageReply& r = reply.linkage_reply();
  EXPECT_EQ(r.query_id(), query.header().message_id());
  std::vector<std::string> hits;
  for (const liaison::v1::LinkageHit& h : r.hits()) {
    hits.push_back(
        absl::StrCat(h.identifier_index(), ":", h.hit(), ":", h.owner(), ":", h.owner_ref()));
  }
  EXPECT_THAT(hits, ElementsAre("0:1:DE-BKA:LNK-DE-0007", "0:1:RO-IGPR:LNK-7Q2M-0001",
                                "0:1:RO-IGPR:LNK-7Q2M-0002", "1:0::"));
  EXPECT_THAT(*g.derived_message, Not(::testing::HasSubstr("LNK-MD-0001")));
}

TEST(PlanLinkageQuery, TellsEachOwnerCaseAndAuditsEveryMatchAsACombination) {
  World w;
  const Message query = scenario::Ac14LinkageQuery();
  const Plan plan = w.PlanFor(query, {"RO-IGPR", "DE-BKA", "MD-IGP"}, nullptr, Ac14Lookup());

  std::vector<std::string> hit_notices;
  for (const liaison::v1::Notice& n : plan.notices) {
    if (n.kind() != liaison::v1::NOTICE_KIND_LINKAGE_HIT) continue;
    EXPECT_EQ(n.message_id(), query.header().message_id());
    EXPECT_EQ(n.requester(), "ES-PN");
    EXPECT_EQ(n.case_ref(), "ES-2026-0091");
    EXPECT_THAT(n.identifier_types(), ElementsAre(liaison::v1::IDENTIFIER_TYPE_IBAN));
    hit_notices.push_back(n.addressee() + "/" + n.owner_ref());
  }
  EXPECT_THAT(hit_notices,
              ElementsAre("DE-BKA/LNK-DE-0007", "RO-IGPR/LNK-7Q2M-0001", "RO-IGPR/LNK-7Q2M-0002"));

  std::vector<std::string> consultations, combinations, refusals;
  for (const liaison::v1::AuditEntry& a : plan.audit) {
    switch (a.operation()) {
      case liaison::v1::AUDIT_OPERATION_CONSULTATION:
        EXPECT_EQ(a.linkage_entries(), 2);  // identifiers searched
        consultations.push_back(a.recipient());
        break;
      case liaison::v1::AUDIT_OPERATION_COMBINATION:
        EXPECT_EQ(a.event(), "linkage-match");
        EXPECT_THAT(a.linkage_types(), ElementsAre(liaison::v1::IDENTIFIER_TYPE_IBAN));
        EXPECT_EQ(a.case_ref_hash(), "case-hash");
        combinations.push_back(a.recipient() + "/" + a.owner_ref_hash());
        break;
      case liaison::v1::AUDIT_OPERATION_REFUSAL:
        refusals.push_back(a.recipient());
        break;
      default:
        ADD_FAILURE() << a.ShortDebugString();
    }
  }
  EXPECT_THAT(consultations, ElementsAre("RO-IGPR", "DE-BKA"));
  EXPECT_THAT(refusals, ElementsAre("MD-IGP"));
  EXPECT_THAT(combinations,
              ElementsAre("DE-BKA/hash-de-7", "RO-IGPR/hash-ro-1", "RO-IGPR/hash-ro-2"));
  // The refused recipient is the sender's usual NON_DELIVERY notice.
  EXPECT_NE(FindNotice(plan, liaison::v1::NOTICE_KIND_NON_DELIVERY, "MD-IGP"), nullptr);
}

TEST(PlanLinkageQuery, AnIndexThatCannotAnswerDisclosesNothingAndTellsTheSender) {
  World w;
  LinkageLookup failed;
  failed.status = absl::FailedPreconditionError("linkage epoch 1 is retired (in force: 2)");
  const Plan plan =
      w.PlanFor(scenario::Ac14LinkageQuery(), {"RO-IGPR"}, nullptr, std::move(failed));
  EXPECT_THAT(plan.deliveries, IsEmpty());
  const liaison::v1::Notice* n = FindNotice(plan, liaison::v1::NOTICE_KIND_NON_DELIVERY, "RO-IGPR");
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->addressee(), "ES-PN");
  EXPECT_THAT(n->reasons(0), ::testing::HasSubstr("linkage epoch 1 is retired"));
  for (const liaison::v1::Notice& other : plan.notices) {
    EXPECT_NE(other.kind(), liaison::v1::NOTICE_KIND_LINKAGE_HIT);
  }
}

TEST(PlanLinkageQuery, CountsOnceAgainstTheSendersDailyLimit) {
  World w;
  w.PlanFor(scenario::Ac14LinkageQuery(), {"RO-IGPR", "DE-BKA"}, nullptr, LinkageLookup{});
  EXPECT_EQ(w.counters.Sum("ES-PN", policy::kAnyRecipient, policy::Metric::kLinkageQueries,
                           absl::Hours(1), scenario::T0()),
            1);
}

TEST(PlanFollowUp, TheOwnersConsentRequestNamesRequesterCaseAndHandle) {
  World w;
  const Message followup = scenario::Ac14FollowUp();
  const Plan plan = w.PlanFor(followup, {"RO-IGPR"});
  ASSERT_THAT(plan.holds, SizeIs(1));
  const liaison::v1::Notice* asked = nullptr;
  for (const liaison::v1::Notice& n : plan.notices) {
    if (n.kind() == liaison::v1::NOTICE_KIND_CONSENT_REQUESTED) asked = &n;
  }
  ASSERT_NE(asked, nullptr);
  EXPECT_EQ(asked->addressee(), "RO-IGPR");
  EXPECT_EQ(asked->requester(), "ES-PN");
  EXPECT_EQ(asked->owner_ref(), followup.followup_request().owner_ref());
  EXPECT_EQ(asked->case_ref(), followup.header().case_ref());
}

// AC-14's follow-up: held for RO-IGPR until RO-IGPR's signed decision, which
// the stage records as RO-IGPR's consent; the follow-up decided again is
// then delivered (approved) or refused with the owner's refusal named.
TEST(PlanFollowUp, TheOwnersApprovingDecisionReleasesTheFollowUp) {
  World w;
  const Message followup = scenario::Ac14FollowUp();
  ASSERT_THAT(w.PlanFor(followup, {"RO-IGPR"}).holds, SizeIs(1));

  const Plan decided = w.PlanFor(scenario::Ac14FollowUpDecision(true), {"ES-PN"});
  ASSERT_TRUE(decided.consent.has_value());
  EXPECT_EQ(decided.consent->grantor, "RO-IGPR");
  EXPECT_EQ(decided.consent->grant.grantee(), "ES-PN");
  EXPECT_EQ(decided.consent->grant.kind(), liaison::v1::CONSENT_KIND_OWNER_APPROVAL);
  EXPECT_THAT(decided.consent->grant.message_ids(), ElementsAre(scenario::Ac14FollowUpId()));
  EXPECT_EQ(decided.audit[0].event(), "followup_decision_recorded");
  // The decision itself reaches the requester.
  ASSERT_THAT(decided.deliveries, SizeIs(1));
  EXPECT_THAT(decided.deliveries[0].recipients, ElementsAre("ES-PN"));

  const Plan released = w.PlanFor(followup, {"RO-IGPR"});
  EXPECT_THAT(released.holds, IsEmpty());
  ASSERT_THAT(released.deliveries, SizeIs(1));
  EXPECT_THAT(released.deliveries[0].recipients, ElementsAre("RO-IGPR"));
}

TEST(PlanFollowUp, TheOwnersRefusalRefusesTheFollowUpNamingTheOwner) {
  World w;
  const Message followup = scenario::Ac14FollowUp();
  w.PlanFor(followup, {"RO-IGPR"});
  const Plan decided = w.PlanFor(scenario::Ac14FollowUpDecision(false), {"ES-PN"});
  ASSERT_TRUE(decided.consent.has_value());
  EXPECT_FALSE(decided.consent->grant.granted());

  const Plan refused = w.PlanFor(followup, {"RO-IGPR"});
  EXPECT_THAT(refused.deliveries, IsEmpty());
  EXPECT_THAT(refused.holds, IsEmpty());
  const liaison::v1::Notice* n =
      FindNotice(refused, liaison::v1::NOTICE_KIND_NON_DELIVERY, "RO-IGPR");
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->addressee(), "ES-PN");
  EXPECT_THAT(n->reasons(0), ::testing::HasSubstr("RO-IGPR refused the follow-up"));
}

TEST(PlanFollowUp, ADecisionBySomeoneElseThanTheOwnerReleasesNothing) {
  World w;
  const Message followup = scenario::Ac14FollowUp();
  w.PlanFor(followup, {"RO-IGPR"});
  Message forged = scenario::Ac14FollowUpDecision(true);
  forged.mutable_header()->set_sender("DE-BKA");  // signed by DE-BKA, not the owner
  w.PlanFor(forged, {"ES-PN"});
  EXPECT_THAT(w.PlanFor(followup, {"RO-IGPR"}).holds, SizeIs(1));
}

TEST(PlanFollowUp, ADecisionToSeveralRecipientsIsAuditedButNotRecorded) {
  World w;
  Message decision = scenario::Ac14FollowUpDecision(true);
  decision.mutable_header()->add_recipients("DE-BKA");
  const Plan plan = w.PlanFor(decision, {"ES-PN", "DE-BKA"});
  EXPECT_FALSE(plan.consent.has_value());
  EXPECT_EQ(plan.audit[0].event(), "followup_decision_unusable");
}

// AC-16: the manifest reaches the JIT's members; only they are granted its
// items (one grant per member and item), never the non-member.
TEST(PlanEvidence, MembersTheManifestReachesAreGrantedEachItemNonMembersNothing) {
  World w;
  const Message manifest = scenario::Ac16EvidenceManifest({"BG-GDNP"});
  const Plan plan = w.PlanFor(manifest, {"DE-BKA", "NL-NP", "FR-OCRTEH", "BG-GDNP"}, nullptr);
  std::vector<std::string> granted;
  for (const KeyedRecord& r : plan.evidence_grants) {
    liaison::v1::EvidenceGrant g;
    ASSERT_TRUE(g.ParseFromString(r.value));
    EXPECT_EQ(r.key, EvidenceRecordKey(g.item_id(), g.recipient()));
    EXPECT_EQ(g.jit_id(), "JIT-2025-014");
    EXPECT_EQ(g.manifest_message_id(), manifest.header().message_id());
    granted.push_back(g.recipient() + "/" + g.item_id());
  }
  std::sort(granted.begin(), granted.end());
  EXPECT_THAT(granted, ElementsAre("DE-BKA/EV-RO-0001", "DE-BKA/EV-RO-0002", "FR-OCRTEH/EV-RO-0001",
                                   "FR-OCRTEH/EV-RO-0002", "NL-NP/EV-RO-0001", "NL-NP/EV-RO-0002"));
  EXPECT_NE(FindNotice(plan, liaison::v1::NOTICE_KIND_NON_DELIVERY, "BG-GDNP"), nullptr);
  // BG-GDNP, refused, can never download: its wrapped keys are destroyed.
  std::vector<std::string> refused;
  for (const Plan::RefusedEvidenceKey& k : plan.evidence_refused_keys) {
    refused.push_back(EvidenceRecordKey(k.item.item_id(), k.recipient));
  }
  EXPECT_THAT(refused, ElementsAre("EV-RO-0001/BG-GDNP", "EV-RO-0002/BG-GDNP"));
}

TEST(PlanEvidence, NothingIsGrantedForOtherKinds) {
  World w;
  EXPECT_THAT(w.PlanFor(scenario::TypicalAlert(), scenario::BenchRecipients()).evidence_grants,
              IsEmpty());
}

}  // namespace
}  // namespace liaison::broker

// The acceptance cases of docs/acceptance.md that a pure chain can decide, run
// against the development registry (deploy/registry/dev.textproto). Each
// test asserts the outcome per recipient, the deciding rule ids, and that
// nothing an operator can see contains a personal value of the fixtures.
#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policy/chain.h"
#include "policy/consents.h"
#include "policy/correction.h"
#include "policy/counters.h"
#include "policy/linkage.h"
#include "policy/redact.h"
#include "policy/sources.h"
#include "policy/testing/scenario.h"

namespace liaison::policy {
namespace {

using liaison::v1::Message;
using scenario::T0;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::UnorderedElementsAre;

// Everything of a decision an operator, a sender or an auditor may see.
std::string VisibleText(const Decision& d) {
  std::string s = d.explanation;
  for (const RuleResult& r : d.rules) absl::StrAppend(&s, "\n", r.reason);
  for (const Hold& h : d.holds) absl::StrAppend(&s, "\n", h.reason, " ", h.awaiting);
  for (const Notification& n : d.notifications) absl::StrAppend(&s, "\n", n.reason);
  for (const auto& r : d.redactions) {
    for (const auto& p : r.paths()) absl::StrAppend(&s, "\n", p);
  }
  for (const auto& o : d.obligations) {
    absl::StrAppend(&s, "\n", o.code(), " ", o.text());
    for (const auto& [k, v] : o.params()) absl::StrAppend(&s, " ", k, "=", v);
  }
  return s;
}

void ExpectNoPersonalValues(const Decision& d) {
  const std::string text = VisibleText(d);
  for (const std::string& value : scenario::PersonalValues()) {
    EXPECT_THAT(text, Not(HasSubstr(value)))
        << "personal value '" << value << "' leaked for " << d.recipient << ":\n"
        << text;
  }
}

std::vector<std::string> Codes(const Decision& d) {
  std::vector<std::string> codes;
  for (const auto& o : d.obligations) codes.push_back(o.code());
  return codes;
}

// The broker-side state a decision reads; empty unless a test fills it.
struct World {
  SlidingWindowCounters counters;
  InMemorySourceIndex sources;
  InMemoryConsentIndex consents;

  Decision Decide(const Message& m, std::string_view recipient, absl::Time now = T0()) {
    Input in = scenario::InputFor(m, recipient, now);
    in.counters = &counters;
    in.sources = &sources;
    in.consents = &consents;
    Decision d = scenario::DevChain()->Evaluate(in);
    ExpectNoPersonalValues(d);
    return d;
  }
};

TEST(AcceptanceAc01, AllowsUrgentMissingChildAlertToSevenEuEndpointsWithObligations) {
  World w;
  const Message alert = scenario::Ac01MissingChildAlert();
  for (const std::string& r : scenario::Ac01Recipients()) {
    SCOPED_TRACE(r);
    const Decision d = w.Decide(alert, r);
    EXPECT_EQ(d.outcome, liaison::v1::OUTCOME_ALLOW) << d.explanation;
    EXPECT_THAT(d.HitRuleIds(), ElementsAre("DP-CHILD-02", "DP-HC-01"));
    EXPECT_THAT(Codes(d), UnorderedElementsAre("LOCATE_PROTECT_ONLY", "ERASE_ON_CLOSED", "H0"));
    EXPECT_THAT(d.redaction_steps, IsEmpty());
    const RuleResult* child = d.Find(RuleId("DP-CHILD-01"));
    ASSERT_NE(child, nullptr);
    EXPECT_EQ(child->mode, RuleMode::kExempted);
    EXPECT_EQ(child->exempted_by, RuleId("DP-CHILD-02"));
    EXPECT_EQ(d.Find(RuleId("DP-CAT-02"))->mode, RuleMode::kExempted);
  }
}

TEST(AcceptanceAc02, HoldsForRoApproverBeforeGbThenAllowsUnderAdequacy) {
  World w;
  const Message alert = scenario::Ac02MissingChildAlertWide();
  const Decision held = w.Decide(alert, "GB-NCA");
  EXPECT_EQ(held.outcome, liaison::v1::OUTCOME_HOLD) << held.explanation;
  EXPECT_THAT(held.DecidingRuleIds(), ElementsAre("DP-CHILD-01"));
  ASSERT_EQ(held.holds.size(), 1u);
  EXPECT_EQ(held.holds[0].awaiting, "RO-IGPR");
  EXPECT_EQ(held.holds[0].consent_kind, liaison::v1::CONSENT_KIND_SENDER_APPROVAL);
  EXPECT_EQ(held.holds[0].timeout, absl::Hours(2));  // URGENT
  EXPECT_THAT(
      held.explanation,
      HasSubstr("DP-CHILD-01: child identity to GB-NCA needs approval by RO-IGPR supervisor"));

  w.consents.Add(scenario::Consent("RO-IGPR", liaison::v1::CONSENT_KIND_SENDER_APPROVAL, "RO-IGPR",
                                   {alert.header().message_id()}, T0() + absl::Hours(2)));
  const Decision approved = w.Decide(alert, "GB-NCA", T0() + absl::Minutes(30));
  EXPECT_EQ(approved.outcome, liaison::v1::OUTCOME_ALLOW) << approved.explanation;
  EXPECT_EQ(approved.transfer.kind(), liaison::v1::TRANSFER_KIND_ADEQUACY);
  EXPECT_EQ(approved.transfer.ref(), "EU-2021/1773");
  EXPECT_THAT(approved.explanation, HasSubstr("ALLOW to GB-NCA under EU-2021/1773"));
  EXPECT_THAT(approved.redaction_steps, IsEmpty());
}

TEST(AcceptanceAc02, RejectsMdForPurposeAndTransferBasis) {
  World w;
  const Decision d = w.Decide(scenario::Ac02MissingChildAlertWide(), "MD-IGP");
  EXPECT_EQ(d.outcome, liaison::v1::OUTCOME_REJECT);
  EXPECT_THAT(d.DecidingRuleIds(), ElementsAre("DP-PURPOSE-01", "DP-XFER-01"));
  EXPECT_THAT(d.explanation,
              HasSubstr("DP-PURPOSE-01: purpose LOCATE_MISSING_PERSON is not accepted by MD-IGP "
                        "(accepted: DETECT, INVESTIGATE)"));
  EXPECT_THAT(d.explanation,
              HasSubstr("DP-XFER-01: no adequacy, safeguard or derogation for RO-IGPR→MD-IGP"));
  EXPECT_THAT(d.explanation, HasSubstr("SG-RO-MD-01 does not cover entity type PERSON"));
}

TEST(AcceptanceAc02, TheSevenEuRecipientsAreUnaffectedByTheWiderAddressList) {
  World w;
  const Message alert = scenario::Ac02MissingChildAlertWide();
  for (const std::string& r : scenario::Ac01Recipients()) {
    EXPECT_EQ(w.Decide(alert, r).outcome, liaison::v1::OUTCOME_ALLOW) << r;
  }
}

TEST(AcceptanceAc03, RedactsAdultVictimIdentityForBgAndKeepsTheSuspect) {
  World w;
  const Message m = scenario::Ac03VictimInfoExchange();
  const Decision bg = w.Decide(m, "BG-GDNP");
  EXPECT_EQ(bg.outcome, liaison::v1::OUTCOME_REDACT) << bg.explanation;
  EXPECT_THAT(bg.DecidingRuleIds(), ElementsAre("DP-CAT-02"));
  EXPECT_THAT(bg.explanation,
              HasSubstr("DP-CAT-02: identity of info.entities[0] redacted for BG-GDNP"));
  ASSERT_EQ(bg.redactions.size(), 1u);
  EXPECT_THAT(bg.redactions[0].paths(),
              AllOf(Contains("info.entities[0].person.names"),
                    Contains("info.entities[0].person.entity_id"), Contains("info.entities[2]"),
                    Contains("info.summary")));

  const scenario::TestPseudonymiser pseudonymiser;
  absl::StatusOr<Message> derived = Redact(m, bg, pseudonymiser, "BG-GDNP");
  ASSERT_TRUE(derived.ok()) << derived.status();
  const auto& es = derived->info().entities();
  const std::string ref = pseudonymiser.Ref("NL-NP", "P-201", "BG-GDNP");
  const liaison::v1::Person& victim = es[0].person();
  EXPECT_EQ(victim.victim_ref(), ref);
  EXPECT_EQ(victim.entity_id(), ref);
  EXPECT_THAT(victim.names(), IsEmpty());
  EXPECT_FALSE(victim.has_birth_date());
  EXPECT_THAT(victim.categories(), ElementsAre(liaison::v1::SUBJECT_CATEGORY_VICTIM));
  // The victim's passport, phone and address went; the suspect and his
  // phone and account stayed; the exploitation link points at the victim_ref.
  std::vector<std::string> ids;
  for (const auto& e : es) {
    if (e.has_person()) ids.push_back(e.person().entity_id());
    if (e.has_comm()) ids.push_back(e.comm().entity_id());
    if (e.has_account()) ids.push_back(e.account().entity_id());
    if (e.has_document()) ids.push_back(e.document().entity_id());
    if (e.has_location()) ids.push_back(e.location().entity_id());
  }
  EXPECT_THAT(ids, ElementsAre(ref, "P-202", "C-202", "A-202"));
  ASSERT_EQ(derived->info().links_size(), 2);
  EXPECT_EQ(derived->info().links(0).from_id(), ref);
  EXPECT_EQ(derived->info().links(0).to_id(), "P-202");
  EXPECT_TRUE(derived->info().summary().empty());
  const std::string bytes = derived->SerializeAsString();
  for (const char* leaked :
       {"ZZTEST-IVANOVA", "ZZTEST-ELENA", "ZZ1234567", "+44 7700 900201", "P-201"}) {
    EXPECT_THAT(bytes, Not(HasSubstr(leaked))) << leaked;
  }
  EXPECT_THAT(bytes, HasSubstr("ZZTEST-DE-VRIES"));  // the suspect is kept

  const Decision fr = w.Decide(m, "FR-OCRTEH");
  EXPECT_EQ(fr.outcome, liaison::v1::OUTCOME_ALLOW) << fr.explanation;
  EXPECT_THAT(fr.DecidingRuleIds(), ElementsAre("DP-HC-01"));
  EXPECT_EQ(fr.Find(RuleId("DP-CAT-02"))->verdict, VerdictKind::kPass);
}

TEST(AcceptanceAc04, RejectsPurposeSeDoesNotAcceptAndListsItsPurposes) {
  World w;
  const Decision d = w.Decide(scenario::Ac04ProtectVictimToSe(), "SE-NOA");
  EXPECT_EQ(d.outcome, liaison::v1::OUTCOME_REJECT);
  EXPECT_THAT(d.DecidingRuleIds(), ElementsAre("DP-PURPOSE-01"));
  EXPECT_THAT(
      d.explanation,
      HasSubstr("DP-PURPOSE-01: purpose PROTECT_VICTIM is not accepted by SE-NOA (accepted: "
                "PREVENT, DETECT, INVESTIGATE, LOCATE_MISSING_PERSON)"));
}

TEST(AcceptanceAc05, RejectsMessageWithoutLegalBasisForEveryRecipient) {
  World w;
  const Message m = scenario::Ac05NoLegalBasis();
  for (const char* r : {"BG-GDNP", "FR-OCRTEH"}) {
    const Decision d = w.Decide(m, r);
    EXPECT_EQ(d.outcome, liaison::v1::OUTCOME_REJECT) << r;
    EXPECT_THAT(d.DecidingRuleIds(), ElementsAre("DP-BASIS-01")) << r;
    EXPECT_THAT(d.explanation, HasSubstr("DP-BASIS-01: header.legal_basis missing"));
  }
}

TEST(AcceptanceAc06, RedactsUnjustifiedSpecialCategoriesAndKeepsIdentityForJitMember) {
  World w;
  const Message m = scenario::Ac06JitSpecialCategories();
  const Decision d = w.Decide(m, "NL-NP");
  EXPECT_EQ(d.outcome, liaison::v1::OUTCOME_REDACT) << d.explanation;
  EXPECT_THAT(d.DecidingRuleIds(), ElementsAre("DP-SPECIAL-01"));
  ASSERT_EQ(d.redactions.size(), 1u);
  EXPECT_THAT(d.redactions[0].paths(), ElementsAre("info.entities[0].person.attributes[1]",
                                                   "info.entities[0].person.attributes[2]"));
  EXPECT_THAT(d.explanation, HasSubstr("(HEALTH)"));
  EXPECT_THAT(d.explanation, HasSubstr("(SEX_LIFE)"));
  EXPECT_THAT(d.explanation, HasSubstr("no strict_necessity justification"));
  EXPECT_EQ(d.Find(RuleId("DP-CAT-02"))->verdict, VerdictKind::kPass);

  absl::StatusOr<Message> derived = Redact(m, d, scenario::TestPseudonymiser(), "NL-NP");
  ASSERT_TRUE(derived.ok()) << derived.status();
  const liaison::v1::Person& p = derived->info().entities(0).person();
  ASSERT_EQ(p.attributes_size(), 1);
  EXPECT_EQ(p.attributes(0).name(), "distinguishing_marks");
  EXPECT_EQ(p.names(0).family(), "ZZTEST-NOVAK");  // identity kept: JIT member
  EXPECT_TRUE(p.victim_ref().empty());
}

TEST(AcceptanceAc07, HoldsH2DerivedContentForProviderConsentThenAllowsOrRejects) {
  World w;
  w.sources.Add(scenario::Ac07SourceM700());
  const Message m = scenario::Ac07DerivedFromH2();
  const Decision held = w.Decide(m, "ES-PN");
  EXPECT_EQ(held.outcome, liaison::v1::OUTCOME_HOLD) << held.explanation;
  EXPECT_THAT(held.DecidingRuleIds(), ElementsAre("DP-HC-03"));
  ASSERT_EQ(held.holds.size(), 1u);
  EXPECT_EQ(held.holds[0].awaiting, "DE-BKA");
  EXPECT_EQ(held.holds[0].consent_kind, liaison::v1::CONSENT_KIND_PROVIDER);
  EXPECT_EQ(held.holds[0].timeout, absl::Hours(72));
  EXPECT_FALSE(HoldExpired(held.holds[0], T0() + absl::Hours(71)));
  EXPECT_TRUE(HoldExpired(held.holds[0], T0() + absl::Hours(72)));
  EXPECT_THAT(held.explanation,
              HasSubstr(absl::StrCat("DP-HC-03: ", scenario::Ac07SourceId(),
                                     " is H2 from DE-BKA; ES-PN is not an original addressee")));

  World granted;
  granted.sources.Add(scenario::Ac07SourceM700());
  granted.consents.Add(scenario::Consent("DE-BKA", liaison::v1::CONSENT_KIND_PROVIDER, "NL-NP",
                                         {m.header().message_id()}, T0() + absl::Hours(72)));
  EXPECT_EQ(granted.Decide(m, "ES-PN", T0() + absl::Hours(10)).outcome, liaison::v1::OUTCOME_ALLOW);

  World refused;
  refused.sources.Add(scenario::Ac07SourceM700());
  refused.consents.Add(scenario::Consent("DE-BKA", liaison::v1::CONSENT_KIND_PROVIDER, "NL-NP",
                                         {m.header().message_id()}, T0() + absl::Hours(72), false));
  const Decision no = refused.Decide(m, "ES-PN", T0() + absl::Hours(10));
  EXPECT_EQ(no.outcome, liaison::v1::OUTCOME_REJECT);
  EXPECT_THAT(no.DecidingRuleIds(), ElementsAre("DP-HC-03"));
}

TEST(AcceptanceAc08, HoldsEvidenceDerivedFromH1ForProviderConsent) {
  World w;
  w.sources.Add(scenario::Ac08SourceH1());
  const Message m = scenario::Ac08EvidenceFromH1();
  for (const char* r : {"DE-BKA", "NL-NP"}) {
    const Decision d = w.Decide(m, r);
    EXPECT_EQ(d.outcome, liaison::v1::OUTCOME_HOLD) << d.explanation;
    EXPECT_THAT(d.DecidingRuleIds(), ElementsAre("DP-HC-02"));
    ASSERT_EQ(d.holds.size(), 1u);
    EXPECT_EQ(d.holds[0].awaiting, "RO-IGPR");
    EXPECT_THAT(d.explanation, HasSubstr(absl::StrCat(
                                   "DP-HC-02: evidence_manifest.items[0] derives from H1 ",
                                   scenario::Ac08SourceId(), " of RO-IGPR; consent requested")));
  }
}

TEST(AcceptanceAc09, RejectsUnknownRestrictionAndDelaysNotBefore) {
  World w;
  const Decision unknown = w.Decide(scenario::Ac09UnknownRestriction(), "NL-NP");
  EXPECT_EQ(unknown.outcome, liaison::v1::OUTCOME_REJECT);
  EXPECT_THAT(unknown.DecidingRuleIds(), ElementsAre("DP-HC-04"));
  EXPECT_THAT(unknown.explanation, HasSubstr("DP-HC-04: unknown restriction code 'NO_PRESS'"));

  const Message later = scenario::Ac09NotBefore();
  const Decision delayed = w.Decide(later, "NL-NP");
  EXPECT_EQ(delayed.outcome, liaison::v1::OUTCOME_DELAY) << delayed.explanation;
  EXPECT_THAT(delayed.DecidingRuleIds(), ElementsAre("DP-HC-04"));
  EXPECT_EQ(delayed.not_before, T0() + absl::Hours(6));
  EXPECT_EQ(w.Decide(later, "NL-NP", T0() + absl::Hours(6)).outcome, liaison::v1::OUTCOME_ALLOW);
}

TEST(AcceptanceAc11, ThirdCountryTransferNeedsBasisAndDerogationLimits) {
  World w;
  const Decision none =
      w.Decide(scenario::Ac11SuspectsToMd(1, scenario::Ac11Basis::kNone), "MD-IGP");
  EXPECT_EQ(none.outcome, liaison::v1::OUTCOME_REJECT);
  EXPECT_THAT(none.DecidingRuleIds(), ElementsAre("DP-XFER-01"));
  EXPECT_THAT(none.explanation,
              HasSubstr("DP-XFER-01: no adequacy, safeguard or derogation for DE-BKA→MD-IGP"));

  const Decision one =
      w.Decide(scenario::Ac11SuspectsToMd(1, scenario::Ac11Basis::kDerogation38C), "MD-IGP");
  EXPECT_EQ(one.outcome, liaison::v1::OUTCOME_ALLOW) << one.explanation;
  EXPECT_THAT(one.HitRuleIds(), Contains("DP-XFER-03"));
  EXPECT_EQ(one.transfer.kind(), liaison::v1::TRANSFER_KIND_DEROGATION_38);
  EXPECT_EQ(one.transfer.derogation(), liaison::v1::DEROGATION_38C);
  EXPECT_TRUE(one.transfer_documentation_required);
  EXPECT_THAT(Codes(one), Contains("INDIVIDUAL_CASE_ONLY"));

  const Decision forty =
      w.Decide(scenario::Ac11SuspectsToMd(40, scenario::Ac11Basis::kDerogation38C), "MD-IGP");
  EXPECT_EQ(forty.outcome, liaison::v1::OUTCOME_REJECT);
  EXPECT_THAT(forty.DecidingRuleIds(), ElementsAre("DP-XFER-03"));
  EXPECT_THAT(forty.explanation,
              HasSubstr("DP-XFER-03: 40 data subjects exceed derogation limit 3"));
}

TEST(AcceptanceAc14, ReplyCarriesOnlyHitOwnerAndRefAndFollowUpWaitsForOwner) {
  World w;
  EXPECT_EQ(w.Decide(scenario::Ac14LinkageQuery(), "RO-IGPR").outcome, liaison::v1::OUTCOME_ALLOW);

  const Message reply = scenario::Ac14LinkageReply();
  EXPECT_TRUE(CheckLinkageReplyShape(reply.linkage_reply(), *scenario::DevRegistry()).ok());
  EXPECT_EQ(w.Decide(reply, "ES-PN").outcome, liaison::v1::OUTCOME_ALLOW);
  Message chatty = reply;
  chatty.mutable_linkage_reply()->mutable_hits(1)->set_owner("RO-IGPR");  // a no-hit names an owner
  const Decision bad = w.Decide(chatty, "ES-PN");
  EXPECT_EQ(bad.outcome, liaison::v1::OUTCOME_REJECT);
  EXPECT_THAT(bad.DecidingRuleIds(), ElementsAre("DP-LINK-02"));

  const Message followup = scenario::Ac14FollowUp();
  const Decision held = w.Decide(followup, "RO-IGPR");
  EXPECT_EQ(held.outcome, liaison::v1::OUTCOME_HOLD) << held.explanation;
  EXPECT_THAT(held.DecidingRuleIds(), ElementsAre("DP-LINK-02"));
  ASSERT_EQ(held.holds.size(), 1u);
  EXPECT_EQ(held.holds[0].awaiting, "RO-IGPR");
  EXPECT_EQ(held.holds[0].consent_kind, liaison::v1::CONSENT_KIND_OWNER_APPROVAL);
  EXPECT_THAT(held.explanation,
              HasSubstr("DP-LINK-02: follow-up for LNK-7Q2M-0001 awaits RO-IGPR approval"));
  ASSERT_TRUE(held.reply_due.has_value());  // DP-TIME-01: a request
  EXPECT_EQ(*held.reply_due, T0() + absl::Hours(24 * 7));

  w.consents.Add(scenario::Consent("RO-IGPR", liaison::v1::CONSENT_KIND_OWNER_APPROVAL, "ES-PN",
                                   {followup.header().message_id()}, T0() + absl::Hours(72)));
  EXPECT_EQ(w.Decide(followup, "RO-IGPR", T0() + absl::Hours(1)).outcome,
            liaison::v1::OUTCOME_ALLOW);
  const Decision details = w.Decide(scenario::Ac14Details(), "ES-PN", T0() + absl::Hours(2));
  EXPECT_EQ(details.outcome, liaison::v1::OUTCOME_ALLOW) << details.explanation;
}

TEST(AcceptanceAc15, RejectsLinkageQueryWithCleartextName) {
  World w;
  const Decision d = w.Decide(scenario::Ac15CleartextQuery(), "RO-IGPR");
  EXPECT_EQ(d.outcome, liaison::v1::OUTCOME_REJECT);
  EXPECT_THAT(d.DecidingRuleIds(), ElementsAre("DP-LINK-01"));
  EXPECT_THAT(
      d.explanation,
      HasSubstr("DP-LINK-01: linkage_query.identifiers[1] is cleartext (type PERSON_NAME)"));
}

TEST(AcceptanceAc16, EvidenceOnlyToJitMembersWhileTheJitIsValid) {
  World w;
  const Message manifest = scenario::Ac16EvidenceManifest({"ES-PN"});
  for (const char* r : {"DE-BKA", "NL-NP", "FR-OCRTEH"}) {
    const Decision d = w.Decide(manifest, r);
    EXPECT_EQ(d.outcome, liaison::v1::OUTCOME_ALLOW) << r << ": " << d.explanation;
    const absl::Time after_end = absl::FromCivil(absl::CivilDay(2026, 6, 2), absl::UTCTimeZone());
    const Decision late = w.Decide(manifest, r, after_end);
    EXPECT_EQ(late.outcome, liaison::v1::OUTCOME_REJECT) << r;
    EXPECT_THAT(late.DecidingRuleIds(), ElementsAre("DP-JIT-01")) << r;
    EXPECT_THAT(late.explanation, HasSubstr("JIT-2025-014 has ended (valid through 2026-05-31)"));
  }
  const Decision es = w.Decide(manifest, "ES-PN");
  EXPECT_EQ(es.outcome, liaison::v1::OUTCOME_REJECT);
  EXPECT_THAT(es.DecidingRuleIds(), ElementsAre("DP-JIT-01"));
  EXPECT_THAT(es.explanation, HasSubstr("DP-JIT-01: ES-PN is not a member of JIT-2025-014"));
}

TEST(AcceptanceAc18, HoldsJitContentReusedOutsideTheJitForTheOriginState) {
  World w;
  w.sources.Add(scenario::Ac16SourceRecord());
  const Decision d = w.Decide(scenario::Ac18ReuseOutsideJit(), "ES-PN");
  EXPECT_EQ(d.outcome, liaison::v1::OUTCOME_HOLD) << d.explanation;
  EXPECT_THAT(d.DecidingRuleIds(), ElementsAre("DP-JIT-02"));
  ASSERT_EQ(d.holds.size(), 1u);
  EXPECT_EQ(d.holds[0].awaiting, "RO-IGPR");
  EXPECT_EQ(d.holds[0].consent_kind, liaison::v1::CONSENT_KIND_JIT_REUSE);
  EXPECT_THAT(d.explanation, HasSubstr("obtained in RO"));
}

TEST(AcceptanceAc19, AlertExpiredAtDeliveryTimeIsNotDelivered) {
  World w;
  const Message alert = scenario::Ac19ShortLivedAlert();
  EXPECT_EQ(w.Decide(alert, "ES-PN").outcome, liaison::v1::OUTCOME_ALLOW);
  // ES-PN comes back online at T0+2h: the broker decides again at delivery.
  const Decision d = w.Decide(alert, "ES-PN", T0() + absl::Hours(2));
  EXPECT_EQ(d.outcome, liaison::v1::OUTCOME_REJECT);
  EXPECT_THAT(d.DecidingRuleIds(), ElementsAre("DP-RET-02"));
  EXPECT_THAT(
      d.explanation,
      HasSubstr(absl::StrCat("DP-RET-02: ", alert.header().message_id(),
                             " expired before delivery to ES-PN (erase_by 2026-05-04T10:00Z)")));
}

TEST(AcceptanceAc21, HoldsBulkTrafficBeyondTheCapWithCountsOnly) {
  World w;
  int allowed = 0;
  int held = 0;
  std::string first_hold;
  for (int batch = 0; batch < 60; ++batch) {  // 600 person records in 10 minutes
    const absl::Time now = T0() + absl::Seconds(10 * batch);
    const Message m = scenario::Ac21Batch(batch);
    const Decision d = w.Decide(m, "DE-BKA", now);
    if (d.outcome == liaison::v1::OUTCOME_ALLOW) {
      ++allowed;
      w.counters.Record("BG-GDNP", "DE-BKA", UsageOf(m, m.ByteSizeLong(), d.transfer.kind()), now);
    } else {
      EXPECT_EQ(d.outcome, liaison::v1::OUTCOME_HOLD) << d.explanation;
      EXPECT_THAT(d.DecidingRuleIds(), ElementsAre("DP-BULK-01"));
      EXPECT_EQ(d.holds.at(0).awaiting, "DPO");
      if (first_hold.empty()) first_hold = d.explanation;
      ++held;
    }
  }
  EXPECT_EQ(allowed, 10);
  EXPECT_EQ(held, 50);
  EXPECT_THAT(first_hold,
              HasSubstr("DP-BULK-01: BG-GDNP→DE-BKA volume 110 persons/10 min exceeds cap 100; "
                        "held for review"));
}

TEST(AcceptanceAc23, ErasureReachesEveryEarlierRecipientWhateverItsPurposes) {
  World w;
  w.sources.Add(scenario::Ac01SourceRecord());
  const Message correction = scenario::Ac23EraseCorrection();
  absl::StatusOr<std::vector<std::string>> recipients = CorrectionRecipients(correction, w.sources);
  ASSERT_TRUE(recipients.ok()) << recipients.status();
  EXPECT_THAT(*recipients,
              ElementsAre("BG-GDNP", "DE-BKA", "ES-PN", "FR-OCRTEH", "LV-VP", "NL-NP", "SE-NOA"));
  for (const std::string& r : *recipients) {
    const Decision d = w.Decide(correction, r);
    EXPECT_EQ(d.outcome, liaison::v1::OUTCOME_ALLOW) << r << ": " << d.explanation;
    EXPECT_THAT(d.HitRuleIds(), Contains("DP-QUAL-02")) << r;
    EXPECT_THAT(Codes(d), Contains("ERASE")) << r;
    EXPECT_EQ(d.Find(RuleId("DP-PURPOSE-01"))->mode, RuleMode::kExempted) << r;
  }
}

}  // namespace
}  // namespace liaison::policy

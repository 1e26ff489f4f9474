#include "policy/rules/further_purpose.h"

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policy/consents.h"
#include "policy/sources.h"
#include "policy/testing/scenario.h"

namespace liaison::policy::rules {
namespace {

using scenario::T0;
using ::testing::HasSubstr;

// AC-07's message, asking for PROSECUTE although M-700 allowed INVESTIGATE.
liaison::v1::Message NewPurposeMessage() {
  auto m = scenario::Ac07DerivedFromH2();
  m.mutable_header()->clear_purposes();
  m.mutable_header()->add_purposes(liaison::v1::PURPOSE_PROSECUTE);
  return m;
}

TEST(FurtherPurposeRule, NotApplicableWithoutSources) {
  const auto m = scenario::Ac03VictimInfoExchange();
  EXPECT_EQ(FurtherPurposeRule().Check(scenario::InputFor(m, "FR-OCRTEH")).kind,
            VerdictKind::kNotApplicable);
}

TEST(FurtherPurposeRule, PassesPurposeTheSourceAllowed) {
  InMemorySourceIndex sources;
  sources.Add(scenario::Ac07SourceM700());
  const auto m = scenario::Ac07DerivedFromH2();
  Input in = scenario::InputFor(m, "ES-PN");
  in.sources = &sources;
  EXPECT_EQ(FurtherPurposeRule().Check(in).kind, VerdictKind::kPass);
}

TEST(FurtherPurposeRule, HoldsNewPurposeForTheProvidersConsent) {
  InMemorySourceIndex sources;
  sources.Add(scenario::Ac07SourceM700());
  const auto m = NewPurposeMessage();
  Input in = scenario::InputFor(m, "ES-PN");
  in.sources = &sources;
  const Verdict v = FurtherPurposeRule().Check(in);
  EXPECT_EQ(v.kind, VerdictKind::kHold);
  ASSERT_EQ(v.holds.size(), 1u);
  EXPECT_EQ(v.holds[0].awaiting, "DE-BKA");
  EXPECT_EQ(v.holds[0].consent_kind, liaison::v1::CONSENT_KIND_PROVIDER);
  EXPECT_THAT(v.reason,
              HasSubstr(absl::StrCat("DP-PURPOSE-02: purpose PROSECUTE not permitted by source ",
                                     scenario::Ac07SourceId(), "; consent of DE-BKA requested")));
}

TEST(FurtherPurposeRule, PassesWithProviderConsentNamingSourceRecipientAndPurpose) {
  InMemorySourceIndex sources;
  sources.Add(scenario::Ac07SourceM700());
  InMemoryConsentIndex consents;
  consents.Add(scenario::Consent("DE-BKA", liaison::v1::CONSENT_KIND_PROVIDER, "NL-NP",
                                 {scenario::Ac07SourceId()}, T0() + absl::Hours(24), true,
                                 {"ES-PN"}, {liaison::v1::PURPOSE_PROSECUTE}));
  const auto m = NewPurposeMessage();
  Input in = scenario::InputFor(m, "ES-PN");
  in.sources = &sources;
  in.consents = &consents;
  EXPECT_EQ(FurtherPurposeRule().Check(in).kind, VerdictKind::kPass);
}

TEST(FurtherPurposeRule, IgnoresSourceConsentThatNamesNoPurpose) {
  InMemorySourceIndex sources;
  sources.Add(scenario::Ac07SourceM700());
  InMemoryConsentIndex consents;
  consents.Add(scenario::Consent("DE-BKA", liaison::v1::CONSENT_KIND_PROVIDER, "NL-NP",
                                 {scenario::Ac07SourceId()}, T0() + absl::Hours(24), true,
                                 {"ES-PN"}));
  const auto m = NewPurposeMessage();
  Input in = scenario::InputFor(m, "ES-PN");
  in.sources = &sources;
  in.consents = &consents;
  EXPECT_EQ(FurtherPurposeRule().Check(in).kind, VerdictKind::kHold);
}

TEST(FurtherPurposeRule, RejectsSourceUnknownToBrokerAndSender) {
  auto m = scenario::Ac07DerivedFromH2();
  m.mutable_header()->mutable_provenance()->clear_sources();
  InMemorySourceIndex empty;
  Input in = scenario::InputFor(m, "ES-PN");
  in.sources = &empty;
  const Verdict v = FurtherPurposeRule().Check(in);
  EXPECT_EQ(v.kind, VerdictKind::kReject);
  EXPECT_THAT(v.reason, HasSubstr("is unknown to the broker and not described"));
  EXPECT_THAT(v.reason, HasSubstr("; describe it or drop it from derived_from"));
}

// A source only the sender describes cannot make the broker ask its claimed
// provider for consent (and park the message): the hold becomes a refusal.
TEST(FurtherPurposeRule, RefusesInsteadOfHoldingForASourceTheBrokerNeverRecorded) {
  const auto m = NewPurposeMessage();
  const Verdict v = FurtherPurposeRule().Check(scenario::InputFor(m, "ES-PN"));
  EXPECT_EQ(v.kind, VerdictKind::kReject);
  EXPECT_THAT(v.reason, HasSubstr("described by the sender in header.provenance.sources only"));
  EXPECT_THAT(v.reason, HasSubstr("the broker never forwarded source"));
}

TEST(FurtherPurposeRule, SendingBackToTheProviderNeedsNothing) {
  const auto m = NewPurposeMessage();
  EXPECT_EQ(FurtherPurposeRule().Check(scenario::InputFor(m, "DE-BKA")).kind, VerdictKind::kPass);
}

}  // namespace
}  // namespace liaison::policy::rules

#include "policy/rules/h1_evidence.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policy/consents.h"
#include "policy/sources.h"
#include "policy/testing/scenario.h"

namespace liaison::policy::rules {
namespace {

using scenario::T0;
using ::testing::HasSubstr;

TEST(H1EvidenceRule, HoldsEvidenceDerivedFromH1ForTheProvider) {
  InMemorySourceIndex sources;
  sources.Add(scenario::Ac08SourceH1());
  const auto m = scenario::Ac08EvidenceFromH1();
  Input in = scenario::InputFor(m, "DE-BKA");
  in.sources = &sources;
  const Verdict v = H1EvidenceRule().Check(in);
  EXPECT_EQ(v.kind, VerdictKind::kHold);
  ASSERT_EQ(v.holds.size(), 1u);
  EXPECT_EQ(v.holds[0].awaiting, "RO-IGPR");
  EXPECT_THAT(v.reason, HasSubstr("DP-HC-02: evidence_manifest.items[0] derives from H1"));
}

TEST(H1EvidenceRule, PassesWithTheProvidersConsentForProsecution) {
  InMemorySourceIndex sources;
  sources.Add(scenario::Ac08SourceH1());
  InMemoryConsentIndex consents;
  const auto m = scenario::Ac08EvidenceFromH1();
  consents.Add(scenario::Consent("RO-IGPR", liaison::v1::CONSENT_KIND_PROVIDER, "FR-OCRTEH",
                                 {m.header().message_id()}, T0() + absl::Hours(72)));
  Input in = scenario::InputFor(m, "DE-BKA");
  in.sources = &sources;
  in.consents = &consents;
  EXPECT_EQ(H1EvidenceRule().Check(in).kind, VerdictKind::kPass);
}

TEST(H1EvidenceRule, DoesNotApplyWithoutJudicialUse) {
  auto m = scenario::Ac07DerivedFromH2();  // INVESTIGATE, not evidence
  EXPECT_EQ(H1EvidenceRule().Check(scenario::InputFor(m, "ES-PN")).kind,
            VerdictKind::kNotApplicable);
}

TEST(H1EvidenceRule, RejectsASourceNobodyDescribed) {
  auto m = scenario::Ac08EvidenceFromH1();
  m.mutable_header()->mutable_provenance()->clear_sources();
  const Verdict v = H1EvidenceRule().Check(scenario::InputFor(m, "DE-BKA"));
  EXPECT_EQ(v.kind, VerdictKind::kReject);
  EXPECT_THAT(v.reason, HasSubstr("describe it there or drop it from derived_from"));
}

TEST(H1EvidenceRule, SendingBackToTheProviderNeedsNoConsent) {
  auto m = scenario::Ac08EvidenceFromH1();
  EXPECT_EQ(H1EvidenceRule().Check(scenario::InputFor(m, "RO-IGPR")).kind, VerdictKind::kPass);
}

}  // namespace
}  // namespace liaison::policy::rules

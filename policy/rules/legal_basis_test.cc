#include "policy/rules/legal_basis.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policy/testing/scenario.h"

namespace liaison::policy::rules {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(LegalBasisRule, PassesWhenACitedBasisCoversSenderRecipientAndKind) {
  const auto m = scenario::Ac03VictimInfoExchange();
  EXPECT_EQ(LegalBasisRule().Check(scenario::InputFor(m, "FR-OCRTEH")).kind, VerdictKind::kPass);
}

TEST(LegalBasisRule, RejectsRegisteredBasisThatDoesNotCoverThePair) {
  auto m = scenario::Ac03VictimInfoExchange();
  m.mutable_header()->clear_legal_basis();
  m.mutable_header()->add_legal_basis("EU-UK-TCA");
  const Verdict v = LegalBasisRule().Check(scenario::InputFor(m, "BG-GDNP"));
  EXPECT_EQ(v.kind, VerdictKind::kReject);
  EXPECT_THAT(v.reason,
              HasSubstr("DP-BASIS-01: header.legal_basis 'EU-UK-TCA' is not registered for "
                        "NL-NP→BG-GDNP INFO_EXCHANGE"));
  // The fix: which registered bases would cover the pair.
  EXPECT_THAT(v.reason, HasSubstr("cite one registered for NL-NP→BG-GDNP INFO_EXCHANGE: "
                                  "EU-DIR-2023/977"));
}

TEST(LegalBasisRule, NamesTheBasesThatWouldCoverTheThirdCountryPair) {
  // README step 7: an EU directive cited for RO-IGPR→GB-NCA; EU-UK-TCA would cover it.
  auto m = scenario::Ac03VictimInfoExchange();
  m.mutable_header()->set_sender("RO-IGPR");
  const Verdict v = LegalBasisRule().Check(scenario::InputFor(m, "GB-NCA"));
  EXPECT_EQ(v.kind, VerdictKind::kReject);
  EXPECT_THAT(v.reason,
              HasSubstr("cite one registered for RO-IGPR→GB-NCA INFO_EXCHANGE: EU-UK-TCA"))
      << v.reason;
}

TEST(LegalBasisRule, SaysWhenNoRegisteredBasisCoversThePair) {
  // Nothing covers NL-NP→MD-IGP (MD's bases are DE's and RO's national laws).
  auto m = scenario::Ac03VictimInfoExchange();
  const Verdict v = LegalBasisRule().Check(scenario::InputFor(m, "MD-IGP"));
  EXPECT_EQ(v.kind, VerdictKind::kReject);
  EXPECT_THAT(v.reason, HasSubstr("no registered basis covers NL-NP→MD-IGP INFO_EXCHANGE"))
      << v.reason;
}

TEST(LegalBasisRule, RejectsMissingBasis) {
  const auto m = scenario::Ac05NoLegalBasis();
  const Verdict v = LegalBasisRule().Check(scenario::InputFor(m, "FR-OCRTEH"));
  EXPECT_EQ(v.kind, VerdictKind::kReject);
  EXPECT_THAT(v.reason, HasSubstr("header.legal_basis missing"));
  EXPECT_THAT(v.reason, HasSubstr("cite one registered for")) << v.reason;
}

TEST(LegalBasisRule, NamesUnregisteredCodesByIndexOnly) {
  auto m = scenario::Ac03VictimInfoExchange();
  m.mutable_header()->clear_legal_basis();
  m.mutable_header()->add_legal_basis("ZZTEST-IVANOVA");
  const Verdict v = LegalBasisRule().Check(scenario::InputFor(m, "FR-OCRTEH"));
  EXPECT_EQ(v.kind, VerdictKind::kReject);
  EXPECT_THAT(v.reason, HasSubstr("header.legal_basis[0] is not a registered legal-basis code"));
  EXPECT_THAT(v.reason, Not(HasSubstr("ZZTEST")));
}

TEST(LegalBasisRule, CoversTheReverseDirectionOfABothWaysBasis) {
  auto m = scenario::Ac03VictimInfoExchange();
  m.mutable_header()->set_sender("GB-NCA");
  m.mutable_header()->clear_legal_basis();
  m.mutable_header()->add_legal_basis("EU-UK-TCA");
  EXPECT_EQ(LegalBasisRule().Check(scenario::InputFor(m, "DE-BKA")).kind, VerdictKind::kPass);
}

TEST(LegalBasisRule, RejectsKindTheBasisDoesNotList) {
  const auto m = scenario::Ac16EvidenceManifest();
  auto changed = m;
  changed.mutable_header()->clear_legal_basis();
  changed.mutable_header()->add_legal_basis("EU-DIR-2023/977");
  EXPECT_EQ(LegalBasisRule().Check(scenario::InputFor(m, "DE-BKA")).kind, VerdictKind::kPass);
  const Verdict v = LegalBasisRule().Check(scenario::InputFor(changed, "DE-BKA"));
  EXPECT_EQ(v.kind, VerdictKind::kReject);
  EXPECT_THAT(v.reason, HasSubstr("RO-IGPR→DE-BKA EVIDENCE_MANIFEST"));
}

TEST(LegalBasisRule, FailsClosedForARecipientMissingFromTheRegistry) {
  const auto m = scenario::Ac03VictimInfoExchange();
  const Verdict v = LegalBasisRule().Check(scenario::InputFor(m, "XX-NOPE"));
  EXPECT_EQ(v.kind, VerdictKind::kReject);
  EXPECT_THAT(v.reason,
              HasSubstr("DP-BASIS-01: cannot decide: recipient XX-NOPE is not in the registry"));
  EXPECT_THAT(v.reason, HasSubstr("; address endpoints of the registry in force ("));
}

}  // namespace
}  // namespace liaison::policy::rules

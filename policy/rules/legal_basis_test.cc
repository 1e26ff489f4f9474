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
  EXPECT_THAT(v.reason, HasSubstr("DP-BASIS-01: header.legal_basis 'EU-UK-TCA' is not registered for "
                                  "NL-NP→BG-GDNP INFO_EXCHANGE"));
}

TEST(LegalBasisRule, RejectsMissingBasis) {
  const auto m = scenario::Ac05NoLegalBasis();
  const Verdict v = LegalBasisRule().Check(scenario::InputFor(m, "FR-OCRTEH"));
  EXPECT_EQ(v.kind, VerdictKind::kReject);
  EXPECT_THAT(v.reason, HasSubstr("header.legal_basis missing"));
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
  EXPECT_THAT(v.reason, HasSubstr("DP-BASIS-01: cannot decide: recipient XX-NOPE is not in the registry"));
}

}  // namespace
}  // namespace liaison::policy::rules

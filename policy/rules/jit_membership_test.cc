#include "policy/rules/jit_membership.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policy/testing/scenario.h"

namespace liaison::policy::rules {
namespace {

using ::testing::HasSubstr;

TEST(JitMembershipRule, PassesMembersWhileTheJitIsValid) {
  const auto m = scenario::Ac16EvidenceManifest();
  EXPECT_EQ(JitMembershipRule().Check(scenario::InputFor(m, "FR-OCRTEH")).kind, VerdictKind::kPass);
}

TEST(JitMembershipRule, RejectsRecipientOutsideJit) {
  const auto m = scenario::Ac16EvidenceManifest({"ES-PN"});
  const Verdict v = JitMembershipRule().Check(scenario::InputFor(m, "ES-PN"));
  EXPECT_EQ(v.kind, VerdictKind::kReject);
  EXPECT_EQ(v.reason,
            "DP-JIT-01: ES-PN is not a member of JIT-2025-014 (AMBER ROUTE); JIT evidence goes "
            "only between members of JIT-2025-014 (otherwise use mutual legal assistance)");
}

TEST(JitMembershipRule, RejectsAfterTheExtendedEnd) {
  const auto m = scenario::Ac16EvidenceManifest();
  const absl::Time june2 = absl::FromCivil(absl::CivilDay(2026, 6, 2), absl::UTCTimeZone());
  const Verdict v = JitMembershipRule().Check(scenario::InputFor(m, "DE-BKA", june2));
  EXPECT_EQ(v.kind, VerdictKind::kReject);
  EXPECT_THAT(v.reason, HasSubstr("JIT-2025-014 has ended (valid through 2026-05-31); after the "
                                  "JIT, use mutual legal assistance or register the JIT's "
                                  "extension"));
}

TEST(JitMembershipRule, RejectsAJitThatHasNotStarted) {
  auto m = scenario::Ac16EvidenceManifest();
  m.mutable_header()->set_sender("LV-VP");
  m.mutable_header()->set_jit_id("JIT-2026-003");
  m.mutable_evidence_manifest()->set_jit_id("JIT-2026-003");
  const Verdict v = JitMembershipRule().Check(scenario::InputFor(m, "SE-NOA"));
  EXPECT_EQ(v.kind, VerdictKind::kReject);
  EXPECT_EQ(v.reason,
            "DP-JIT-01: JIT-2026-003 not valid until 2026-06-01; send on or after 2026-06-01");
}

TEST(JitMembershipRule, RejectsASenderOutsideTheJit) {
  auto m = scenario::Ac16EvidenceManifest();
  m.mutable_header()->set_sender("ES-PN");
  EXPECT_THAT(JitMembershipRule().Check(scenario::InputFor(m, "DE-BKA")).reason,
              HasSubstr("ES-PN is not a member of JIT-2025-014"));
}

TEST(JitMembershipRule, RejectsHeaderAndManifestNamingDifferentJits) {
  auto m = scenario::Ac16EvidenceManifest();
  m.mutable_header()->set_jit_id("JIT-2026-003");
  EXPECT_THAT(JitMembershipRule().Check(scenario::InputFor(m, "DE-BKA")).reason,
              HasSubstr("header.jit_id and evidence_manifest.jit_id differ"));
}

TEST(JitMembershipRule, RejectsAnUnregisteredJit) {
  auto m = scenario::Ac16EvidenceManifest();
  m.mutable_header()->clear_jit_id();
  m.mutable_evidence_manifest()->set_jit_id("JIT-1999-001");
  EXPECT_THAT(JitMembershipRule().Check(scenario::InputFor(m, "DE-BKA")).reason,
              HasSubstr("evidence_manifest.jit_id is not a registered JIT"));
}

}  // namespace
}  // namespace liaison::policy::rules

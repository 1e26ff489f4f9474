#include "policy/rules/transfer_basis.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policy/registry.h"
#include "policy/testing/scenario.h"

namespace liaison::policy::rules {
namespace {

using ::testing::HasSubstr;

// RO-IGPR asks MD-IGP to detect a stolen vehicle: inside SG-RO-MD-01.
liaison::v1::Message VehicleAlertToMd() {
  auto m = scenario::Ac19ShortLivedAlert();
  m.mutable_header()->clear_recipients();
  m.mutable_header()->add_recipients("MD-IGP");
  return m;
}

TEST(TransferBasisRule, NotApplicableInsideTheEu) {
  const auto m = scenario::Ac01MissingChildAlert();
  EXPECT_EQ(TransferBasisRule().Check(scenario::InputFor(m, "DE-BKA")).kind,
            VerdictKind::kNotApplicable);
}

TEST(TransferBasisRule, PassesUnderAnAdequacyDecision) {
  const auto m = scenario::Ac02MissingChildAlertWide();
  const Verdict v = TransferBasisRule().Check(scenario::InputFor(m, "GB-NCA"));
  EXPECT_EQ(v.kind, VerdictKind::kPass);
  ASSERT_TRUE(v.transfer.has_value());
  EXPECT_EQ(v.transfer->ref(), "EU-2021/1773");
  EXPECT_FALSE(v.transfer_documentation_required);
}

TEST(TransferBasisRule, RejectsOnceTheAdequacyDecisionHasExpired) {
  const auto m = scenario::Ac02MissingChildAlertWide();
  const absl::Time later = absl::FromCivil(absl::CivilDay(2031, 12, 28), absl::UTCTimeZone());
  EXPECT_EQ(TransferBasisRule().Check(scenario::InputFor(m, "GB-NCA", later)).kind,
            VerdictKind::kReject);
}

TEST(TransferBasisRule, PassesUnderASafeguardCoveringVehiclesAndDetection) {
  const auto m = VehicleAlertToMd();
  const Verdict v = TransferBasisRule().Check(scenario::InputFor(m, "MD-IGP"));
  EXPECT_EQ(v.kind, VerdictKind::kPass);
  ASSERT_TRUE(v.transfer.has_value());
  EXPECT_EQ(v.transfer->kind(), liaison::v1::TRANSFER_KIND_SAFEGUARD_37B);
  EXPECT_EQ(v.transfer->ref(), "SG-RO-MD-01");
  EXPECT_TRUE(v.transfer_documentation_required);
}

TEST(TransferBasisRule, RejectsPersonsOutsideTheSafeguardScope) {
  const auto m = scenario::Ac02MissingChildAlertWide();
  const Verdict v = TransferBasisRule().Check(scenario::InputFor(m, "MD-IGP"));
  EXPECT_EQ(v.kind, VerdictKind::kReject);
  EXPECT_THAT(v.reason, HasSubstr("no adequacy, safeguard or derogation for RO-IGPR→MD-IGP"));
  EXPECT_THAT(v.reason, HasSubstr("SG-RO-MD-01 does not cover entity type PERSON"));
}

TEST(TransferBasisRule, RejectsTheSafeguardBeforeItsValidity) {
  const auto m = VehicleAlertToMd();
  const absl::Time before = absl::FromCivil(absl::CivilDay(2025, 12, 31), absl::UTCTimeZone());
  const Verdict v = TransferBasisRule().Check(scenario::InputFor(m, "MD-IGP", before));
  EXPECT_EQ(v.kind, VerdictKind::kReject);
  EXPECT_THAT(v.reason, HasSubstr("not valid until 2026-01-01"));
}

TEST(TransferBasisRule, PassesUnderADeclaredDerogation) {
  const auto m = scenario::Ac11SuspectsToMd(1, scenario::Ac11Basis::kDerogation38C);
  const Verdict v = TransferBasisRule().Check(scenario::InputFor(m, "MD-IGP"));
  EXPECT_EQ(v.kind, VerdictKind::kPass);
  EXPECT_EQ(v.transfer->kind(), liaison::v1::TRANSFER_KIND_DEROGATION_38);
}

TEST(TransferBasisRule, RejectsARecipientThatIsNotACompetentAuthority) {
  liaison::v1::Registry proto = scenario::DevRegistry()->proto();
  for (auto& e : *proto.mutable_endpoints()) {
    if (e.id() == "GB-NCA") e.set_competent_authority(false);
  }
  auto registry = Registry::FromProto(proto);
  ASSERT_TRUE(registry.ok()) << registry.status();
  const auto m = scenario::Ac02MissingChildAlertWide();
  Input in = scenario::InputFor(m, "GB-NCA");
  in.registry = registry->get();
  const Verdict v = TransferBasisRule().Check(in);
  EXPECT_EQ(v.kind, VerdictKind::kReject);
  EXPECT_THAT(v.reason, HasSubstr("GB-NCA is not a competent authority"));
  EXPECT_THAT(v.reason, HasSubstr("; send only to competent authorities"));
}

}  // namespace
}  // namespace liaison::policy::rules

#include "policy/rules/data_quality.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policy/testing/scenario.h"

namespace liaison::policy::rules {
namespace {

using ::testing::HasSubstr;

TEST(DataQualityRule, PassesEvaluatedEntitiesAndLinks) {
  const auto m = scenario::Ac03VictimInfoExchange();
  EXPECT_EQ(DataQualityRule().Check(scenario::InputFor(m, "FR-OCRTEH")).kind, VerdictKind::kPass);
}

TEST(DataQualityRule, TakesTheEvaluationFromTheHeaderDefault) {
  auto m = scenario::Ac03VictimInfoExchange();
  m.mutable_info()->mutable_entities(3)->mutable_comm()->mutable_meta()->clear_evaluation();
  EXPECT_EQ(DataQualityRule().Check(scenario::InputFor(m, "FR-OCRTEH")).kind, VerdictKind::kPass);
}

TEST(DataQualityRule, RejectsMissingAccuracyWithoutDefault) {
  auto m = scenario::Ac03VictimInfoExchange();
  m.mutable_header()->clear_default_evaluation();
  m.mutable_info()
      ->mutable_entities(3)
      ->mutable_comm()
      ->mutable_meta()
      ->mutable_evaluation()
      ->clear_accuracy();
  const Verdict v = DataQualityRule().Check(scenario::InputFor(m, "FR-OCRTEH"));
  EXPECT_EQ(v.kind, VerdictKind::kReject);
  EXPECT_THAT(v.reason,
              HasSubstr("DP-QUAL-01: info.entities[3].comm.meta lacks evaluation.accuracy"));
}

TEST(DataQualityRule, RejectsAssessmentWithoutAssessor) {
  auto m = scenario::Ac03VictimInfoExchange();
  m.mutable_info()->mutable_entities(1)->mutable_person()->mutable_meta()->set_basis(
      liaison::v1::INFO_BASIS_ASSESSMENT);
  const Verdict v = DataQualityRule().Check(scenario::InputFor(m, "FR-OCRTEH"));
  EXPECT_EQ(v.kind, VerdictKind::kReject);
  EXPECT_THAT(v.reason,
              HasSubstr("info.entities[1].person.meta is an ASSESSMENT without assessed_by"));
}

TEST(DataQualityRule, RejectsLinkWithoutBasis) {
  auto m = scenario::Ac03VictimInfoExchange();
  m.mutable_info()->mutable_links(0)->clear_meta();
  const Verdict v = DataQualityRule().Check(scenario::InputFor(m, "FR-OCRTEH"));
  EXPECT_EQ(v.kind, VerdictKind::kReject);
  EXPECT_THAT(v.reason, HasSubstr("info.links[0].meta lacks basis"));
}

}  // namespace
}  // namespace liaison::policy::rules

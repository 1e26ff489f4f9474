#include "policy/rules/subject_category.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policy/testing/scenario.h"

namespace liaison::policy::rules {
namespace {

using ::testing::HasSubstr;

TEST(SubjectCategoryRule, PassesWhenEveryPersonHasACategory) {
  const auto m = scenario::Ac03VictimInfoExchange();
  EXPECT_EQ(SubjectCategoryRule().Check(scenario::InputFor(m, "FR-OCRTEH")).kind,
            VerdictKind::kPass);
}

TEST(SubjectCategoryRule, RejectsPersonWithoutCategory) {
  auto m = scenario::Ac03VictimInfoExchange();
  m.mutable_info()->mutable_entities(0)->mutable_person()->clear_categories();
  const Verdict v = SubjectCategoryRule().Check(scenario::InputFor(m, "FR-OCRTEH"));
  EXPECT_EQ(v.kind, VerdictKind::kReject);
  EXPECT_THAT(v.reason, HasSubstr("DP-CAT-01: info.entities[0].person.categories missing"));
}

TEST(SubjectCategoryRule, RejectsSuspectWithoutOffence) {
  auto m = scenario::Ac03VictimInfoExchange();
  m.mutable_info()->mutable_entities(1)->mutable_person()->clear_offence_refs();
  const Verdict v = SubjectCategoryRule().Check(scenario::InputFor(m, "FR-OCRTEH"));
  EXPECT_EQ(v.kind, VerdictKind::kReject);
  EXPECT_THAT(v.reason, HasSubstr("info.entities[1].person.offence_refs missing"));
}

TEST(SubjectCategoryRule, NotApplicableWithoutPersons) {
  const auto m = scenario::Ac19ShortLivedAlert();
  EXPECT_EQ(SubjectCategoryRule().Check(scenario::InputFor(m, "ES-PN")).kind,
            VerdictKind::kNotApplicable);
}

}  // namespace
}  // namespace liaison::policy::rules

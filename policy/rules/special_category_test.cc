#include "policy/rules/special_category.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policy/testing/scenario.h"

namespace liaison::policy::rules {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

std::vector<std::string> Paths(const Verdict& v) {
  std::vector<std::string> out;
  for (const auto& s : v.redactions) out.push_back(s.path);
  return out;
}

TEST(SpecialCategoryRule, RedactsTaggedFieldsWithoutStrictNecessity) {
  const auto m = scenario::Ac06JitSpecialCategories();
  const Verdict v = SpecialCategoryRule().Check(scenario::InputFor(m, "NL-NP"));
  EXPECT_EQ(v.kind, VerdictKind::kRedact);
  EXPECT_THAT(Paths(v), ElementsAre("info.entities[0].person.attributes[1]",
                                    "info.entities[0].person.attributes[2]"));
  EXPECT_THAT(v.reason, HasSubstr("redacted: no strict_necessity justification"));
}

TEST(SpecialCategoryRule, PassesWithStrictNecessityAndAnArt10Basis) {
  auto m = scenario::Ac06JitSpecialCategories();
  m.mutable_header()->set_strict_necessity("ZZTEST needed to plan medical care at rescue");
  m.mutable_header()->set_special_basis("MLA-2000-ART13");
  const Verdict v = SpecialCategoryRule().Check(scenario::InputFor(m, "NL-NP"));
  EXPECT_EQ(v.kind, VerdictKind::kPass);
  EXPECT_THAT(v.reason, HasSubstr("justified under MLA-2000-ART13"));
  EXPECT_THAT(v.reason, Not(HasSubstr("ZZTEST")));  // the justification stays DPO-only
}

TEST(SpecialCategoryRule, RedactsWhenTheBasisDoesNotAllowArt10) {
  auto m = scenario::Ac06JitSpecialCategories();
  m.mutable_header()->set_strict_necessity("needed");
  m.mutable_header()->set_special_basis("EU-DIR-2023/977");
  const Verdict v = SpecialCategoryRule().Check(scenario::InputFor(m, "NL-NP"));
  EXPECT_EQ(v.kind, VerdictKind::kRedact);
  EXPECT_THAT(v.reason, HasSubstr("does not allow LED art 10 processing"));
}

TEST(SpecialCategoryRule, TreatsBiometricsAsSpecialEvenWhenUntagged) {
  auto m = scenario::Ac03VictimInfoExchange();
  auto* b = m.mutable_info()->mutable_entities(1)->mutable_person()->add_biometrics();
  b->set_type(liaison::v1::BIOMETRIC_TYPE_DNA_PROFILE);
  const Verdict v = SpecialCategoryRule().Check(scenario::InputFor(m, "FR-OCRTEH"));
  EXPECT_EQ(v.kind, VerdictKind::kRedact);
  EXPECT_THAT(Paths(v), ElementsAre("info.entities[1].person.biometrics"));
  EXPECT_THAT(v.reason, HasSubstr("(GENETIC)"));
}

TEST(SpecialCategoryRule, RemovesATaggedLink) {
  auto m = scenario::Ac03VictimInfoExchange();
  m.mutable_info()->mutable_links(0)->mutable_meta()->add_special(
      liaison::v1::SPECIAL_CATEGORY_SEX_LIFE);
  const Verdict v = SpecialCategoryRule().Check(scenario::InputFor(m, "FR-OCRTEH"));
  EXPECT_THAT(Paths(v), ElementsAre("info.links[0]"));
}

TEST(SpecialCategoryRule, RejectsFieldMetaKeyThatNamesNoField) {
  auto m = scenario::Ac03VictimInfoExchange();
  liaison::v1::FieldMeta meta;
  meta.add_special(liaison::v1::SPECIAL_CATEGORY_HEALTH);
  (*m.mutable_info()->mutable_entities(0)->mutable_person()->mutable_field_meta())["ZZTEST-x"] =
      meta;
  const Verdict v = SpecialCategoryRule().Check(scenario::InputFor(m, "FR-OCRTEH"));
  EXPECT_EQ(v.kind, VerdictKind::kReject);
  EXPECT_THAT(v.reason, Not(HasSubstr("ZZTEST")));
  EXPECT_THAT(v.reason,
              HasSubstr("cannot be located: key field_meta by a field name of the entity"));
}

TEST(SpecialCategoryRule, NotApplicableWithoutSpecialData) {
  const auto m = scenario::Ac03VictimInfoExchange();
  EXPECT_EQ(SpecialCategoryRule().Check(scenario::InputFor(m, "FR-OCRTEH")).kind,
            VerdictKind::kNotApplicable);
}

}  // namespace
}  // namespace liaison::policy::rules

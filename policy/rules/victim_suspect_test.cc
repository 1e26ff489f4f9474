#include "policy/rules/victim_suspect.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policy/testing/scenario.h"

namespace liaison::policy::rules {
namespace {

using ::testing::HasSubstr;

liaison::v1::Message VictimAlsoSuspect() {
  auto m = scenario::Ac03VictimInfoExchange();
  auto* p = m.mutable_info()->mutable_entities(0)->mutable_person();
  p->add_categories(liaison::v1::SUBJECT_CATEGORY_SUSPECT);
  p->add_offence_refs("DRUG-TRAFFICKING");
  return m;
}

TEST(VictimSuspectRule, RejectsVictimSuspectWithoutCategoryNote) {
  const auto m = VictimAlsoSuspect();
  const Verdict v = VictimSuspectRule().Check(scenario::InputFor(m, "FR-OCRTEH"));
  EXPECT_EQ(v.kind, VerdictKind::kReject);
  EXPECT_THAT(v.reason,
              HasSubstr("DP-CAT-03: info.entities[0] is VICTIM+SUSPECT without category_note"));
}

TEST(VictimSuspectRule, PassesWithCategoryNote) {
  auto m = VictimAlsoSuspect();
  m.mutable_info()->mutable_entities(0)->mutable_person()->set_category_note(
      "compelled to transport drugs by the suspect (2011/36 art 8)");
  EXPECT_EQ(VictimSuspectRule().Check(scenario::InputFor(m, "FR-OCRTEH")).kind, VerdictKind::kPass);
}

TEST(VictimSuspectRule, NotApplicableWhenNobodyHasBothRoles) {
  const auto m = scenario::Ac03VictimInfoExchange();
  EXPECT_EQ(VictimSuspectRule().Check(scenario::InputFor(m, "FR-OCRTEH")).kind,
            VerdictKind::kNotApplicable);
}

}  // namespace
}  // namespace liaison::policy::rules

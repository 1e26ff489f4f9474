#include "policy/rules/missing_child_alert.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policy/rules/child_identity.h"
#include "policy/rules/victim_identity.h"
#include "policy/testing/scenario.h"

namespace liaison::policy::rules {
namespace {

using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

TEST(MissingChildAlertRule, ExemptsChildAndVictimRulesForEuRecipientWithObligations) {
  const auto m = scenario::Ac01MissingChildAlert();
  const Verdict v = MissingChildAlertRule().Check(scenario::InputFor(m, "BG-GDNP"));
  EXPECT_EQ(v.kind, VerdictKind::kPass);
  EXPECT_THAT(v.exempts, UnorderedElementsAre(VictimIdentityRule::kId, ChildIdentityRule::kId));
  std::vector<std::string> codes;
  for (const auto& o : v.obligations) codes.push_back(o.code());
  EXPECT_THAT(codes, ElementsAre("LOCATE_PROTECT_ONLY", "ERASE_ON_CLOSED"));
}

TEST(MissingChildAlertRule, DoesNotApplyToThirdCountries) {
  const auto m = scenario::Ac02MissingChildAlertWide();
  EXPECT_EQ(MissingChildAlertRule().Check(scenario::InputFor(m, "GB-NCA")).kind,
            VerdictKind::kNotApplicable);
}

TEST(MissingChildAlertRule, DoesNotApplyToRoutineAlerts) {
  auto m = scenario::Ac01MissingChildAlert();
  m.mutable_header()->set_urgency(liaison::v1::URGENCY_ROUTINE);
  EXPECT_EQ(MissingChildAlertRule().Check(scenario::InputFor(m, "BG-GDNP")).kind,
            VerdictKind::kNotApplicable);
}

TEST(MissingChildAlertRule, DoesNotApplyToAnAdultSubject) {
  auto m = scenario::Ac01MissingChildAlert();
  auto* p = m.mutable_alert()->mutable_entities(0)->mutable_person();
  p->set_is_minor(liaison::v1::MINOR_NO);
  p->mutable_birth_date()->set_year(1990);
  EXPECT_EQ(MissingChildAlertRule().Check(scenario::InputFor(m, "BG-GDNP")).kind,
            VerdictKind::kNotApplicable);
}

TEST(MissingChildAlertRule, DoesNotApplyWhenAnInvestigationPurposeIsAdded) {
  auto m = scenario::Ac01MissingChildAlert();
  m.mutable_header()->add_purposes(liaison::v1::PURPOSE_INVESTIGATE);
  EXPECT_EQ(MissingChildAlertRule().Check(scenario::InputFor(m, "BG-GDNP")).kind,
            VerdictKind::kNotApplicable);
}

TEST(MissingChildAlertRule, MayExemptOnlyTheVictimAndChildRules) {
  EXPECT_THAT(MissingChildAlertRule().MayExempt(),
              UnorderedElementsAre(VictimIdentityRule::kId, ChildIdentityRule::kId));
}

}  // namespace
}  // namespace liaison::policy::rules

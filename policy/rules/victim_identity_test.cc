#include "policy/rules/victim_identity.h"

#include <algorithm>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policy/testing/scenario.h"

namespace liaison::policy::rules {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

std::vector<std::string> Paths(const Verdict& v) {
  std::vector<std::string> out;
  for (const auto& s : v.redactions) out.push_back(s.path);
  return out;
}

TEST(VictimIdentityRule, RedactsAdultVictimForSpocOutsideTheJit) {
  const auto m = scenario::Ac03VictimInfoExchange();
  const Verdict v = VictimIdentityRule().Check(scenario::InputFor(m, "BG-GDNP"));
  EXPECT_EQ(v.kind, VerdictKind::kRedact);
  EXPECT_THAT(v.reason, HasSubstr("DP-CAT-02: identity of info.entities[0] redacted for BG-GDNP"));
  // The fix: what would let the identity itself through.
  EXPECT_THAT(v.reason,
              HasSubstr("a case listed in the registry for a JIT of which BG-GDNP is a "
                        "member (case_ref), or an endpoint with the VICTIM_PROTECTION role"));
  EXPECT_THAT(Paths(v), Contains("info.entities[0].person.names"));
  EXPECT_THAT(Paths(v), Contains("info.entities[0].person.document_refs"));
}

TEST(VictimIdentityRule, RemovesOnlyEntitiesTheVictimAloneReferences) {
  const auto m = scenario::Ac03VictimInfoExchange();
  const Verdict v = VictimIdentityRule().Check(scenario::InputFor(m, "BG-GDNP"));
  // D-201, C-201, L-201 are entities 2, 3, 6; the suspect's C-202 (4) and
  // A-202 (5) stay.
  EXPECT_THAT(Paths(v), Contains("info.entities[2]"));
  EXPECT_THAT(Paths(v), Contains("info.entities[3]"));
  EXPECT_THAT(Paths(v), Contains("info.entities[6]"));
  EXPECT_THAT(Paths(v), Not(Contains("info.entities[4]")));
  EXPECT_THAT(Paths(v), Not(Contains("info.entities[5]")));
}

TEST(VictimIdentityRule, FindsTheVictimsItemsInALargeMessageToo) {
  auto m = scenario::Ac21Batch(0, 40);  // 40 persons: the planner switches to a hash index
  auto* victim = m.mutable_info()->mutable_entities(39)->mutable_person();
  victim->clear_categories();
  victim->add_categories(liaison::v1::SUBJECT_CATEGORY_VICTIM);
  victim->add_comm_refs("C-X");
  auto* phone = m.mutable_info()->add_entities()->mutable_comm();
  phone->set_entity_id("C-X");
  phone->set_value("+44 7700 900999");
  const Verdict v = VictimIdentityRule().Check(scenario::InputFor(m, "DE-BKA"));
  EXPECT_EQ(v.kind, VerdictKind::kRedact);
  EXPECT_THAT(Paths(v), Contains("info.entities[39].person.entity_id"));
  EXPECT_THAT(Paths(v), Contains("info.entities[40]"));
}

TEST(VictimIdentityRule, PassesForVictimProtectionRole) {
  const auto m = scenario::Ac03VictimInfoExchange();
  EXPECT_EQ(VictimIdentityRule().Check(scenario::InputFor(m, "FR-OCRTEH")).kind,
            VerdictKind::kPass);
}

TEST(VictimIdentityRule, PassesForMemberOfAJitOnTheCase) {
  const auto m = scenario::Ac06JitSpecialCategories();
  EXPECT_EQ(VictimIdentityRule().Check(scenario::InputFor(m, "NL-NP")).kind, VerdictKind::kPass);
}

TEST(VictimIdentityRule, RedactsForJitMemberWhenTheJitHasEnded) {
  const auto m = scenario::Ac06JitSpecialCategories();
  const absl::Time after = absl::FromCivil(absl::CivilDay(2026, 6, 2), absl::UTCTimeZone());
  EXPECT_EQ(VictimIdentityRule().Check(scenario::InputFor(m, "NL-NP", after)).kind,
            VerdictKind::kRedact);
}

TEST(VictimIdentityRule, LeavesMinorVictimsToTheChildRule) {
  const auto m = scenario::Ac01MissingChildAlert();
  EXPECT_EQ(VictimIdentityRule().Check(scenario::InputFor(m, "BG-GDNP")).kind,
            VerdictKind::kNotApplicable);
}

}  // namespace
}  // namespace liaison::policy::rules

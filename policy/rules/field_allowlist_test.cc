#include "policy/rules/field_allowlist.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policy/registry.h"
#include "policy/testing/scenario.h"

namespace liaison::policy::rules {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<std::string> Paths(const Verdict& v) {
  std::vector<std::string> out;
  for (const auto& s : v.redactions) out.push_back(s.path);
  return out;
}

TEST(FieldAllowlistRule, PassesFieldsTheAllowlistsCover) {
  const auto m = scenario::TypicalAlert();
  EXPECT_EQ(FieldAllowlistRule().Check(scenario::InputFor(m, "DE-BKA")).kind, VerdictKind::kPass);
}

TEST(FieldAllowlistRule, RemovesFieldsNotNeededToLocateAMissingPerson) {
  auto m = scenario::TypicalAlert();
  m.mutable_header()->clear_purposes();
  m.mutable_header()->add_purposes(liaison::v1::PURPOSE_LOCATE_MISSING_PERSON);
  const Verdict v = FieldAllowlistRule().Check(scenario::InputFor(m, "DE-BKA"));
  EXPECT_EQ(v.kind, VerdictKind::kRedact);
  // The suspects' locate list has no account_refs (P-1) and no birth_place;
  // the contact P-3 keeps its Annex II B list.
  EXPECT_THAT(Paths(v), ElementsAre("alert.entities[0].person.account_refs"));
  EXPECT_THAT(v.reason, HasSubstr("DP-MIN-01: 1 field removed for purpose LOCATE_MISSING_PERSON"));
  EXPECT_THAT(v.reason, HasSubstr("send only the allowed fields, or a purpose whose allowlist "
                                  "covers them"));
}

TEST(FieldAllowlistRule, AppliesTheStricterListToAVictimWhoIsAlsoASuspect) {
  auto m = scenario::Ac03VictimInfoExchange();
  auto* p = m.mutable_info()->mutable_entities(1)->mutable_person();  // the suspect
  p->add_categories(liaison::v1::SUBJECT_CATEGORY_VICTIM);
  const Verdict v = FieldAllowlistRule().Check(scenario::InputFor(m, "FR-OCRTEH"));
  EXPECT_EQ(v.kind, VerdictKind::kRedact);
  // Victims' list has no account_refs: the suspect's list alone would keep them.
  EXPECT_THAT(Paths(v), ElementsAre("info.entities[1].person.account_refs"));
}

TEST(FieldAllowlistRule, FailsClosedWithoutAnAllowlistForTheCombination) {
  liaison::v1::Registry proto = scenario::DevRegistry()->proto();
  proto.clear_field_allowlists();
  auto registry = Registry::FromProto(proto);
  ASSERT_TRUE(registry.ok());
  const auto m = scenario::Ac03VictimInfoExchange();
  Input in = scenario::InputFor(m, "FR-OCRTEH");
  in.registry = registry->get();
  const Verdict v = FieldAllowlistRule().Check(in);
  EXPECT_EQ(v.kind, VerdictKind::kReject);
  EXPECT_THAT(
      v.reason,
      HasSubstr(
          "DP-MIN-01: cannot decide: no field allowlist for INFO_EXCHANGE/INVESTIGATE/VICTIM"));
}

}  // namespace
}  // namespace liaison::policy::rules

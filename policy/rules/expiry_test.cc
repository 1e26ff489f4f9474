#include "policy/rules/expiry.h"

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policy/testing/scenario.h"

namespace liaison::policy::rules {
namespace {

using scenario::T0;
using ::testing::HasSubstr;

TEST(ExpiryRule, PassesBeforeEraseBy) {
  const auto m = scenario::Ac19ShortLivedAlert();
  EXPECT_EQ(ExpiryRule().Check(scenario::InputFor(m, "ES-PN", T0() + absl::Minutes(59))).kind,
            VerdictKind::kPass);
}

TEST(ExpiryRule, RejectsAtAndAfterEraseBy) {
  const auto m = scenario::Ac19ShortLivedAlert();
  const Verdict at = ExpiryRule().Check(scenario::InputFor(m, "ES-PN", T0() + absl::Hours(1)));
  EXPECT_EQ(at.kind, VerdictKind::kReject);
  EXPECT_EQ(at.reason,
            absl::StrCat("DP-RET-02: ", m.header().message_id(),
                         " expired before delivery to ES-PN (erase_by 2026-05-04T10:00Z); it "
                         "may not be delivered after that: if the data may still be "
                         "kept, the sender re-sends it with a later erase_by"));
}

TEST(ExpiryRule, AnEarlierH3EraseByExpiresTheMessageSooner) {
  auto m = scenario::Ac03VictimInfoExchange();
  auto* r = m.mutable_header()->mutable_handling()->add_restrictions();
  r->set_code("ERASE_BY");
  (*r->mutable_params())["at"] = "2026-05-04T12:00:00Z";
  const Verdict v = ExpiryRule().Check(scenario::InputFor(m, "FR-OCRTEH", T0() + absl::Hours(3)));
  EXPECT_EQ(v.kind, VerdictKind::kReject);
  EXPECT_THAT(v.reason, HasSubstr("(H3 ERASE_BY 2026-05-04T12:00Z)"));
}

TEST(ExpiryRule, RejectsWhenExpiryCannotBeChecked) {
  auto m = scenario::Ac03VictimInfoExchange();
  m.mutable_header()->mutable_retention()->clear_erase_by();
  const Verdict v = ExpiryRule().Check(scenario::InputFor(m, "FR-OCRTEH"));
  EXPECT_EQ(v.kind, VerdictKind::kReject);
  EXPECT_EQ(v.reason,
            "DP-RET-02: header.retention.erase_by missing: expiry cannot be checked; set "
            "header.retention.erase_by (liaison send --erase-in)");
}

}  // namespace
}  // namespace liaison::policy::rules

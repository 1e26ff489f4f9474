#include "policy/rules/reply_deadline.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policy/testing/scenario.h"

namespace liaison::policy::rules {
namespace {

using scenario::T0;
using ::testing::HasSubstr;

liaison::v1::Message Request(liaison::v1::Urgency u, liaison::v1::AccessKind a) {
  auto m = scenario::Ac03VictimInfoExchange();
  m.mutable_header()->set_urgency(u);
  m.mutable_header()->set_access_kind(a);
  return m;
}

TEST(ReplyDeadlineRule, UrgentDirectlyAccessibleIsDueInEightHours) {
  const auto m = Request(liaison::v1::URGENCY_URGENT, liaison::v1::ACCESS_KIND_DIRECT);
  const Verdict v = ReplyDeadlineRule().Check(scenario::InputFor(m, "FR-OCRTEH"));
  EXPECT_EQ(v.kind, VerdictKind::kPass);
  ASSERT_TRUE(v.reply_due.has_value());
  EXPECT_EQ(*v.reply_due, T0() + absl::Hours(8));
  EXPECT_THAT(v.reason, HasSubstr("reply due 2026-05-04T17:00Z (URGENT, DIRECT: 8h)"));
}

TEST(ReplyDeadlineRule, UrgentIndirectlyAccessibleIsDueInThreeDays) {
  const auto m = Request(liaison::v1::URGENCY_URGENT, liaison::v1::ACCESS_KIND_INDIRECT);
  EXPECT_EQ(*ReplyDeadlineRule().Check(scenario::InputFor(m, "FR-OCRTEH")).reply_due,
            T0() + absl::Hours(72));
}

TEST(ReplyDeadlineRule, OtherRequestsAreDueInSevenDays) {
  const auto m = Request(liaison::v1::URGENCY_ROUTINE, liaison::v1::ACCESS_KIND_INDIRECT);
  EXPECT_EQ(*ReplyDeadlineRule().Check(scenario::InputFor(m, "FR-OCRTEH")).reply_due,
            T0() + absl::Hours(24 * 7));
}

TEST(ReplyDeadlineRule, OwnInitiativeProvisionsAndRepliesHaveNoDeadline) {
  const auto own = scenario::Ac03VictimInfoExchange();  // no access_kind
  EXPECT_EQ(ReplyDeadlineRule().Check(scenario::InputFor(own, "FR-OCRTEH")).kind,
            VerdictKind::kNotApplicable);
  auto reply = Request(liaison::v1::URGENCY_URGENT, liaison::v1::ACCESS_KIND_DIRECT);
  reply.mutable_header()->set_in_reply_to(scenario::FixedId(99));
  EXPECT_EQ(ReplyDeadlineRule().Check(scenario::InputFor(reply, "FR-OCRTEH")).kind,
            VerdictKind::kNotApplicable);
}

}  // namespace
}  // namespace liaison::policy::rules

#include "policy/rules/audit_precondition.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policy/testing/scenario.h"

namespace liaison::policy::rules {
namespace {

TEST(AuditPreconditionRule, PassesWhenTheAuditEntryCanBeWritten) {
  const auto m = scenario::Ac03VictimInfoExchange();
  EXPECT_EQ(AuditPreconditionRule().Check(scenario::InputFor(m, "FR-OCRTEH")).kind,
            VerdictKind::kPass);
}

TEST(AuditPreconditionRule, RejectsAMessageWithoutIdBecauseItCannotBeAudited) {
  auto m = scenario::Ac03VictimInfoExchange();
  m.mutable_header()->clear_message_id();
  const Verdict v = AuditPreconditionRule().Check(scenario::InputFor(m, "FR-OCRTEH"));
  EXPECT_EQ(v.kind, VerdictKind::kReject);
  EXPECT_EQ(v.reason,
            "DP-LOG-01: header.message_id missing: the decision cannot be audited; set "
            "header.message_id (a UUIDv7: the client library sets one)");
}

TEST(AuditPreconditionRule, RejectsAMessageWithoutSenderAndSaysWhatToSet) {
  auto m = scenario::Ac03VictimInfoExchange();
  m.mutable_header()->clear_sender();
  const Verdict v = AuditPreconditionRule().Check(scenario::InputFor(m, "FR-OCRTEH"));
  EXPECT_EQ(v.kind, VerdictKind::kReject);
  EXPECT_EQ(v.reason,
            "DP-LOG-01: header.sender missing: the decision cannot be audited; set header.sender "
            "to the sending endpoint's id");
}

}  // namespace
}  // namespace liaison::policy::rules

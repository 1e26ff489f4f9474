#include "policy/rules/jit_reuse.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policy/consents.h"
#include "policy/sources.h"
#include "policy/testing/scenario.h"

namespace liaison::policy::rules {
namespace {

using scenario::T0;
using ::testing::HasSubstr;

TEST(JitReuseRule, HoldsReuseOutsideTheJitForTheStateWhereItWasObtained) {
  InMemorySourceIndex sources;
  sources.Add(scenario::Ac16SourceRecord());
  const auto m = scenario::Ac18ReuseOutsideJit();
  Input in = scenario::InputFor(m, "ES-PN");
  in.sources = &sources;
  const Verdict v = JitReuseRule().Check(in);
  EXPECT_EQ(v.kind, VerdictKind::kHold);
  ASSERT_EQ(v.holds.size(), 1u);
  EXPECT_EQ(v.holds[0].awaiting, "RO-IGPR");
  EXPECT_EQ(v.holds[0].consent_kind, liaison::v1::CONSENT_KIND_JIT_REUSE);
  EXPECT_THAT(v.reason, HasSubstr("DP-JIT-02: info.entities[0] from JIT-2025-014 obtained in RO"));
}

TEST(JitReuseRule, PassesInsideTheJitOnItsCase) {
  InMemorySourceIndex sources;
  sources.Add(scenario::Ac16SourceRecord());
  auto m = scenario::Ac18ReuseOutsideJit();
  m.mutable_header()->set_case_ref("DE-2025-4411");  // a case JIT-2025-014 lists
  m.mutable_header()->set_jit_id("JIT-2025-014");
  Input in = scenario::InputFor(m, "NL-NP");
  in.sources = &sources;
  EXPECT_EQ(JitReuseRule().Check(in).kind, VerdictKind::kPass);
}

TEST(JitReuseRule, HoldsAMemberWhenTheMessageIsAboutAnotherCase) {
  InMemorySourceIndex sources;
  sources.Add(scenario::Ac16SourceRecord());
  const auto m = scenario::Ac18ReuseOutsideJit();  // case DE-2026-0311, no jit_id
  Input in = scenario::InputFor(m, "NL-NP");
  in.sources = &sources;
  EXPECT_EQ(JitReuseRule().Check(in).kind, VerdictKind::kHold);
}

TEST(JitReuseRule, TheOriginStateItselfNeedsNoConsent) {
  InMemorySourceIndex sources;
  sources.Add(scenario::Ac16SourceRecord());
  auto m = scenario::Ac18ReuseOutsideJit();
  m.mutable_header()->set_sender("RO-IGPR");
  Input in = scenario::InputFor(m, "ES-PN");
  in.sources = &sources;
  EXPECT_EQ(JitReuseRule().Check(in).kind, VerdictKind::kPass);
}

TEST(JitReuseRule, PassesWithTheOriginStatesConsent) {
  InMemorySourceIndex sources;
  sources.Add(scenario::Ac16SourceRecord());
  InMemoryConsentIndex consents;
  const auto m = scenario::Ac18ReuseOutsideJit();
  consents.Add(scenario::Consent("RO-IGPR", liaison::v1::CONSENT_KIND_JIT_REUSE, "DE-BKA",
                                 {m.header().message_id()}, T0() + absl::Hours(72)));
  Input in = scenario::InputFor(m, "ES-PN");
  in.sources = &sources;
  in.consents = &consents;
  EXPECT_EQ(JitReuseRule().Check(in).kind, VerdictKind::kPass);
}

TEST(JitReuseRule, RejectsJitContentThatDoesNotSayWhereItWasObtained) {
  InMemorySourceIndex sources;
  SourceRecord r = scenario::Ac16SourceRecord();
  r.ref.clear_obtained_in();
  sources.Add(r);
  const auto m = scenario::Ac18ReuseOutsideJit();
  Input in = scenario::InputFor(m, "ES-PN");
  in.sources = &sources;
  const Verdict v = JitReuseRule().Check(in);
  EXPECT_EQ(v.kind, VerdictKind::kReject);
  EXPECT_THAT(v.reason, HasSubstr("does not say where it was obtained"));
  EXPECT_THAT(v.reason, HasSubstr("; give its obtained_in country"));
}

}  // namespace
}  // namespace liaison::policy::rules

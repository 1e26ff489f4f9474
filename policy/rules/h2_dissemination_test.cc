#include "policy/rules/h2_dissemination.h"

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policy/consents.h"
#include "policy/sources.h"
#include "policy/testing/scenario.h"

namespace liaison::policy::rules {
namespace {

using scenario::T0;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(H2DisseminationRule, HoldsH2ContentForAnotherAddressee) {
  InMemorySourceIndex sources;
  sources.Add(scenario::Ac07SourceM700());
  const auto m = scenario::Ac07DerivedFromH2();
  Input in = scenario::InputFor(m, "ES-PN");
  in.sources = &sources;
  const Verdict v = H2DisseminationRule().Check(in);
  EXPECT_EQ(v.kind, VerdictKind::kHold);
  EXPECT_EQ(v.reason,
            absl::StrCat("DP-HC-03: ", scenario::Ac07SourceId(),
                         " is H2 from DE-BKA; ES-PN is not an original addressee; consent "
                         "of DE-BKA requested"));
}

TEST(H2DisseminationRule, PassesForAnOriginalAddressee) {
  InMemorySourceIndex sources;
  SourceRecord r = scenario::Ac07SourceM700();
  r.ref.add_original_recipients("ES-PN");
  sources.Add(r);
  const auto m = scenario::Ac07DerivedFromH2();
  Input in = scenario::InputFor(m, "ES-PN");
  in.sources = &sources;
  EXPECT_EQ(H2DisseminationRule().Check(in).kind, VerdictKind::kPass);
}

TEST(H2DisseminationRule, TheBrokersRecordWinsOverTheSendersDescription) {
  InMemorySourceIndex sources;
  sources.Add(scenario::Ac07SourceM700());
  auto m = scenario::Ac07DerivedFromH2();
  // The sender claims M-700 was H0 and addressed to ES-PN; the broker knows better.
  auto* declared = m.mutable_header()->mutable_provenance()->mutable_sources(0);
  declared->set_handling(liaison::v1::HANDLING_CODE_H0);
  declared->add_original_recipients("ES-PN");
  Input in = scenario::InputFor(m, "ES-PN");
  in.sources = &sources;
  EXPECT_EQ(H2DisseminationRule().Check(in).kind, VerdictKind::kHold);
}

TEST(H2DisseminationRule, RejectsWhenTheProviderRefused) {
  InMemorySourceIndex sources;
  sources.Add(scenario::Ac07SourceM700());
  InMemoryConsentIndex consents;
  const auto m = scenario::Ac07DerivedFromH2();
  consents.Add(scenario::Consent("DE-BKA", liaison::v1::CONSENT_KIND_PROVIDER, "NL-NP",
                                 {m.header().message_id()}, T0() + absl::Hours(72), false));
  Input in = scenario::InputFor(m, "ES-PN");
  in.sources = &sources;
  in.consents = &consents;
  const Verdict v = H2DisseminationRule().Check(in);
  EXPECT_EQ(v.kind, VerdictKind::kReject);
  EXPECT_THAT(v.reason, HasSubstr("; send it only to its original addressees, or without it "
                                  "(drop it from header.provenance.derived_from)"));
}

TEST(H2DisseminationRule, IgnoresAnExpiredConsent) {
  InMemorySourceIndex sources;
  sources.Add(scenario::Ac07SourceM700());
  InMemoryConsentIndex consents;
  const auto m = scenario::Ac07DerivedFromH2();
  consents.Add(scenario::Consent("DE-BKA", liaison::v1::CONSENT_KIND_PROVIDER, "NL-NP",
                                 {m.header().message_id()}, T0() - absl::Minutes(1)));
  Input in = scenario::InputFor(m, "ES-PN");
  in.sources = &sources;
  in.consents = &consents;
  EXPECT_EQ(H2DisseminationRule().Check(in).kind, VerdictKind::kHold);
}

TEST(H2DisseminationRule, NeverEchoesAnUnregisteredProviderTheSenderDeclared) {
  auto m = scenario::Ac07DerivedFromH2();
  m.mutable_header()->mutable_provenance()->mutable_sources(0)->set_provider("ZZTEST-ELENA");
  const Verdict v = H2DisseminationRule().Check(scenario::InputFor(m, "ES-PN"));
  EXPECT_EQ(v.kind, VerdictKind::kReject);  // declared only: no hold on an invented provider
  EXPECT_THAT(v.reason, HasSubstr("is H2 from <unregistered endpoint>"));
  EXPECT_THAT(v.reason, Not(HasSubstr("ZZTEST")));
}

TEST(H2DisseminationRule, NotApplicableWithoutH2Sources) {
  const auto m = scenario::Ac03VictimInfoExchange();
  EXPECT_EQ(H2DisseminationRule().Check(scenario::InputFor(m, "BG-GDNP")).kind,
            VerdictKind::kNotApplicable);
}

}  // namespace
}  // namespace liaison::policy::rules

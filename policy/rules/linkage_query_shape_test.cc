#include "policy/rules/linkage_query_shape.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policy/counters.h"
#include "policy/testing/scenario.h"

namespace liaison::policy::rules {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(LinkageQueryShapeRule, PassesBlindedIdentifiersWithCaseAndOffence) {
  const auto m = scenario::Ac14LinkageQuery();
  EXPECT_EQ(LinkageQueryShapeRule().Check(scenario::InputFor(m, "RO-IGPR")).kind,
            VerdictKind::kPass);
}

TEST(LinkageQueryShapeRule, RejectsACleartextNameWithoutEchoingIt) {
  const auto m = scenario::Ac15CleartextQuery();
  const Verdict v = LinkageQueryShapeRule().Check(scenario::InputFor(m, "RO-IGPR"));
  EXPECT_EQ(v.kind, VerdictKind::kReject);
  EXPECT_THAT(
      v.reason,
      HasSubstr("DP-LINK-01: linkage_query.identifiers[1] is cleartext (type PERSON_NAME)"));
  EXPECT_THAT(v.reason, Not(HasSubstr("ZZTEST")));
}

TEST(LinkageQueryShapeRule, RejectsAPrintableValueThatIsNoHmac) {
  auto m = scenario::Ac14LinkageQuery();
  m.mutable_linkage_query()->mutable_identifiers(0)->set_value("RO49AAAA1B31007593840000********");
  const Verdict v = LinkageQueryShapeRule().Check(scenario::InputFor(m, "RO-IGPR"));
  EXPECT_EQ(v.kind, VerdictKind::kReject);
  EXPECT_THAT(v.reason, HasSubstr("linkage_query.identifiers[0].value looks like cleartext"));
  EXPECT_THAT(v.reason, Not(HasSubstr("RO49")));
}

TEST(LinkageQueryShapeRule, RejectsAValueOfTheWrongLength) {
  auto m = scenario::Ac14LinkageQuery();
  m.mutable_linkage_query()->mutable_identifiers(1)->set_value("+44 7700 900*");
  const Verdict v = LinkageQueryShapeRule().Check(scenario::InputFor(m, "RO-IGPR"));
  EXPECT_THAT(v.reason, HasSubstr("identifiers[1].value is cleartext or malformed"));
}

TEST(LinkageQueryShapeRule, RejectsMoreThanTwentyIdentifiers) {
  auto m = scenario::Ac14LinkageQuery();
  auto* q = m.mutable_linkage_query();
  while (q->identifiers_size() < 21) *q->add_identifiers() = q->identifiers(0);
  const Verdict v = LinkageQueryShapeRule().Check(scenario::InputFor(m, "RO-IGPR"));
  EXPECT_THAT(v.reason, HasSubstr("21 identifiers exceed the limit of 20"));
}

TEST(LinkageQueryShapeRule, RejectsAnUnknownScheme) {
  auto m = scenario::Ac14LinkageQuery();
  m.mutable_linkage_query()->mutable_identifiers(0)->set_scheme("SHA1");
  EXPECT_THAT(LinkageQueryShapeRule().Check(scenario::InputFor(m, "RO-IGPR")).reason,
              HasSubstr("scheme must be HMAC-SHA256/epoch-N"));
}

TEST(LinkageQueryShapeRule, RejectsAnEpochRetiredOrNotYetInForceNamingTheEpochsInForce) {
  auto m = scenario::Ac14LinkageQuery();
  auto* q = m.mutable_linkage_query();
  q->mutable_identifiers(0)->set_scheme("HMAC-SHA256/epoch-7");
  liaison::v1::Registry proto = scenario::DevRegistry()->proto();
  proto.mutable_linkage()->clear_active_epochs();
  proto.mutable_linkage()->add_active_epochs(2);
  auto registry = Registry::FromProto(proto, "rotated");
  ASSERT_TRUE(registry.ok()) << registry.status();
  Input in = scenario::InputFor(m, "RO-IGPR");
  in.registry = registry->get();
  const Verdict v = LinkageQueryShapeRule().Check(in);
  EXPECT_EQ(v.kind, VerdictKind::kReject);
  EXPECT_THAT(v.reason, HasSubstr("identifiers[0].scheme: linkage epoch 7 is not in force yet "
                                  "(in force: 2)"));
  EXPECT_THAT(v.reason, HasSubstr("identifiers[1].scheme: linkage epoch 1 is retired "
                                  "(in force: 2)"));
}

TEST(LinkageQueryShapeRule, RejectsMissingCaseRef) {
  auto m = scenario::Ac14LinkageQuery();
  m.mutable_linkage_query()->clear_case_ref();
  EXPECT_THAT(LinkageQueryShapeRule().Check(scenario::InputFor(m, "RO-IGPR")).reason,
              HasSubstr("linkage_query.case_ref missing"));
}

TEST(LinkageQueryShapeRule, RejectsSmuggledUnknownFields) {
  auto m = scenario::Ac14LinkageQuery();
  m.mutable_linkage_query()
      ->GetReflection()
      ->MutableUnknownFields(m.mutable_linkage_query())
      ->AddLengthDelimited(99, "ZZTEST-ELENA");
  const Verdict v = LinkageQueryShapeRule().Check(scenario::InputFor(m, "RO-IGPR"));
  EXPECT_EQ(v.kind, VerdictKind::kReject);
  EXPECT_THAT(v.reason, HasSubstr("linkage_query carries unknown fields"));
}

// The sender's queries answered today (UTC), recorded as the stage does.
void RecordQueries(SlidingWindowCounters& counters, const std::string& sender, int n,
                   absl::Time at) {
  Usage one;
  one.linkage_queries = 1;
  for (int i = 0; i < n; ++i) counters.Record(sender, kAnyRecipient, one, at);
}

TEST(LinkageQueryShapeRule, RefusesOverTheDailyQueryLimitNamingIt) {
  const auto m = scenario::Ac14LinkageQuery();
  Input in = scenario::InputFor(m, "RO-IGPR");
  const int limit = in.registry->max_linkage_queries_per_day();
  SlidingWindowCounters counters;
  in.counters = &counters;
  const absl::Time day_start =
      absl::FromCivil(absl::ToCivilDay(in.now, absl::UTCTimeZone()), absl::UTCTimeZone());
  RecordQueries(counters, m.header().sender(), limit - 1, day_start);
  EXPECT_EQ(LinkageQueryShapeRule().Check(in).kind, VerdictKind::kPass);
  RecordQueries(counters, m.header().sender(), 1, in.now);
  const Verdict v = LinkageQueryShapeRule().Check(in);
  EXPECT_EQ(v.kind, VerdictKind::kReject);
  EXPECT_THAT(v.reason, HasSubstr(absl::StrCat("has had ", limit,
                                               " linkage queries answered today (UTC); the limit "
                                               "is linkage.max_queries_per_day = ",
                                               limit)));
  // Another sender's count is its own.
  auto other = m;
  other.mutable_header()->set_sender("DE-BKA");
  Input other_in = scenario::InputFor(other, "RO-IGPR");
  other_in.counters = &counters;
  EXPECT_EQ(LinkageQueryShapeRule().Check(other_in).kind, VerdictKind::kPass);
}

TEST(LinkageQueryShapeRule, YesterdaysQueriesDoNotCountToday) {
  const auto m = scenario::Ac14LinkageQuery();
  Input in = scenario::InputFor(m, "RO-IGPR");
  SlidingWindowCounters counters;
  in.counters = &counters;
  const absl::Time day_start =
      absl::FromCivil(absl::ToCivilDay(in.now, absl::UTCTimeZone()), absl::UTCTimeZone());
  RecordQueries(counters, m.header().sender(), in.registry->max_linkage_queries_per_day(),
                day_start - absl::Seconds(2));
  EXPECT_EQ(LinkageQueryShapeRule().Check(in).kind, VerdictKind::kPass);
}

}  // namespace
}  // namespace liaison::policy::rules

#include "policy/registry.h"

#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policy/testing/scenario.h"

namespace liaison::policy {
namespace {

using scenario::T0;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;

// Registry text with one line per element, so that line N is lines[N-1].
std::string Text(const std::vector<std::string>& lines) { return absl::StrJoin(lines, "\n"); }

const std::vector<std::string> kTwoEndpoints = {
    R"(version: "test-1")",                                                                    // 1
    R"(endpoints { id: "DE-BKA" country: "DE" jurisdiction: JURISDICTION_EU_MEMBER_STATE })",  // 2
    R"(endpoints { id: "NL-NP" country: "NL" jurisdiction: JURISDICTION_EU_MEMBER_STATE })",   // 3
};

std::string WithLines(std::vector<std::string> extra) {
  std::vector<std::string> all = kTwoEndpoints;
  all.insert(all.end(), extra.begin(), extra.end());
  return Text(all);
}

TEST(Registry, DevelopmentRegistryValidates) {
  absl::StatusOr<std::shared_ptr<const Registry>> r =
      Registry::Parse(scenario::DevRegistryText(), "dev.textproto");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT((*r)->version(), MatchesRegex("dev-2026-05-04\\.1\\+[0-9a-f]{12}"));
  EXPECT_EQ((*r)->proto().endpoints_size(), 10);
  EXPECT_EQ((*r)->proto().jits_size(), 2);
}

TEST(Registry, DevelopmentRegistryMatchesTheScenario) {
  const Registry& r = *scenario::DevRegistry();
  const EndpointEntry* gb = r.FindEntry("GB-NCA");
  ASSERT_NE(gb, nullptr);
  EXPECT_TRUE(gb->third_country());
  EXPECT_TRUE(gb->HasRole(liaison::v1::ROLE_THB_UNIT));
  EXPECT_FALSE(gb->Accepts(liaison::v1::PURPOSE_PROTECT_VICTIM));
  EXPECT_TRUE(r.FindEntry("FR-OCRTEH")->HasRole(liaison::v1::ROLE_VICTIM_PROTECTION));
  EXPECT_TRUE(r.FindEntry("RO-IGPR")->HasRole(liaison::v1::ROLE_CHILD_PROTECTION));
  EXPECT_EQ(r.FindEndpoint("XX-NONE"), nullptr);

  ASSERT_NE(r.FindAdequacy("GB", T0()), nullptr);
  EXPECT_EQ(r.FindAdequacy("GB", T0())->ref(), "EU-2021/1773");
  EXPECT_EQ(
      r.FindAdequacy("GB", absl::FromCivil(absl::CivilDay(2031, 12, 28), absl::UTCTimeZone())),
      nullptr);
  EXPECT_NE(
      r.FindAdequacy("GB", absl::FromCivil(absl::CivilDay(2031, 12, 27), absl::UTCTimeZone())),
      nullptr);
  EXPECT_EQ(r.FindAdequacy("MD", T0()), nullptr);
  EXPECT_NE(r.FindSafeguard("SG-RO-MD-01"), nullptr);

  const liaison::v1::Jit* amber = r.FindJit("JIT-2025-014");
  ASSERT_NE(amber, nullptr);
  EXPECT_TRUE(Registry::IsValidAt(*amber, T0()));
  EXPECT_TRUE(Registry::IsMember(*amber, "FR-OCRTEH"));
  EXPECT_FALSE(Registry::IsMember(*amber, "ES-PN"));
  EXPECT_EQ(r.JitsForCase("DE-2025-4411").size(), 1u);
  EXPECT_FALSE(Registry::IsValidAt(*r.FindJit("JIT-2026-003"), T0()));

  EXPECT_EQ(r.HoldTimeout(liaison::v1::URGENCY_ROUTINE), absl::Hours(72));
  EXPECT_EQ(r.HoldTimeout(liaison::v1::URGENCY_URGENT), absl::Hours(2));
  EXPECT_EQ(r.derogation().max_subjects, 3);
  EXPECT_EQ(r.max_linkage_identifiers(), 20);
  EXPECT_TRUE(r.IsKnownRestriction("NOT_BEFORE"));
  EXPECT_FALSE(r.IsKnownRestriction("NO_PRESS"));
}

TEST(Registry, TheMostSpecificAllowlistWins) {
  const Registry& r = *scenario::DevRegistry();
  const uint32_t biometrics = uint32_t{1} << liaison::v1::Person::kBiometricsFieldNumber;
  const auto investigate =
      r.AllowedPersonFields(liaison::v1::KIND_ALERT, liaison::v1::PURPOSE_INVESTIGATE,
                            liaison::v1::SUBJECT_CATEGORY_SUSPECT);
  const auto locate =
      r.AllowedPersonFields(liaison::v1::KIND_ALERT, liaison::v1::PURPOSE_LOCATE_MISSING_PERSON,
                            liaison::v1::SUBJECT_CATEGORY_SUSPECT);
  ASSERT_TRUE(investigate && locate);
  EXPECT_NE(*investigate & biometrics, 0u);
  EXPECT_EQ(*locate & biometrics, 0u);
}

TEST(Registry, ReportsEveryProblemWithFileLineAndFieldPath) {
  const std::string text = Text({
      R"(version: "broken-1")",  // 1
      R"(endpoints { id: "DE-BKA" country: "DE" jurisdiction: JURISDICTION_EU_MEMBER_STATE })",  // 2
      R"(endpoints { id: "DE-BKA" country: "DE" jurisdiction: JURISDICTION_EU_MEMBER_STATE })",  // 3
      R"(endpoints { id: "RO-IGPR" jurisdiction: JURISDICTION_EU_MEMBER_STATE)",  // 4
      R"(  country: "ROU" })",                                                    // 5
      R"(jits {)",                                                                // 6
      R"(  id: "JIT-1" name: "ONE")",                                             // 7
      R"(  members: ["DE-BKA", "NL-NOPE"])",                                      // 8
      R"(  start { seconds: 1780272000 })",                                       // 9
      R"(  end { seconds: 1748736000 })",                                         // 10
      R"(})",                                                                     // 11
  });
  absl::StatusOr<std::shared_ptr<const Registry>> r = Registry::Parse(text, "broken.textproto");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string msg(r.status().message());
  EXPECT_THAT(msg, HasSubstr("broken.textproto:3: field endpoints[1].id: duplicate endpoint id "
                             "'DE-BKA' (first at endpoints[0])"));
  EXPECT_THAT(msg, HasSubstr("broken.textproto:5: field endpoints[2].country: 'ROU' is not an ISO "
                             "3166-1 alpha-2 code"));
  EXPECT_THAT(
      msg, HasSubstr("broken.textproto:8: field jits[0].members[1]: unknown endpoint 'NL-NOPE'"));
  EXPECT_THAT(msg, HasSubstr("broken.textproto:10: field jits[0].end: ends before it starts (end "
                             "2025-06-01 is not after start 2026-06-01)"));
}

TEST(Registry, UnknownPurposeNameIsASyntaxErrorWithItsLine) {
  const std::string text = Text({
      R"(version: "broken-2")",                                                      // 1
      R"(endpoints {)",                                                              // 2
      R"(  id: "DE-BKA" country: "DE" jurisdiction: JURISDICTION_EU_MEMBER_STATE)",  // 3
      R"(  accepted_purposes: [PURPOSE_INVESTIGATE, PURPOSE_GOSSIP])",               // 4
      R"(})",                                                                        // 5
  });
  absl::StatusOr<std::shared_ptr<const Registry>> r = Registry::Parse(text, "broken.textproto");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("broken.textproto:4: syntax error:"));
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("PURPOSE_GOSSIP"));
}

TEST(Registry, ExplainsThatTheUnitedKingdomIsGb) {
  absl::StatusOr<std::shared_ptr<const Registry>> r = Registry::Parse(
      WithLines(
          {R"(endpoints { id: "UK-NCA" country: "UK" jurisdiction: JURISDICTION_THIRD_COUNTRY })"}),
      "uk.textproto");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(std::string(r.status().message()),
              HasSubstr("uk.textproto:4: field endpoints[2].country: 'UK' is not an ISO 3166-1 "
                        "alpha-2 code (the United Kingdom is 'GB')"));
}

TEST(Registry, RejectsAJurisdictionThatContradictsTheCountry) {
  absl::StatusOr<std::shared_ptr<const Registry>> r = Registry::Parse(
      WithLines(
          {R"(endpoints { id: "FR-X" country: "FR" jurisdiction: JURISDICTION_THIRD_COUNTRY })"}),
      "j.textproto");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(
      std::string(r.status().message()),
      HasSubstr("j.textproto:4: field endpoints[2].jurisdiction: 'FR' applies the LED and is "
                "not a third country"));
}

TEST(Registry, RejectsALegalBasisThatCoversNothing) {
  absl::StatusOr<std::shared_ptr<const Registry>> r = Registry::Parse(
      WithLines({R"(legal_bases { code: "X-1" senders { endpoints: ["XX-FOO"] } })"}),
      "b.textproto");
  ASSERT_FALSE(r.ok());
  const std::string msg(r.status().message());
  EXPECT_THAT(msg, HasSubstr("b.textproto:4: field legal_bases[0].kinds: empty"));
  EXPECT_THAT(msg,
              HasSubstr("field legal_bases[0].senders.endpoints[0]: unknown endpoint 'XX-FOO'"));
  EXPECT_THAT(msg, HasSubstr("field legal_bases[0].recipients: names no party"));
}

TEST(Registry, RejectsASafeguardTowardsAnEuEndpoint) {
  absl::StatusOr<std::shared_ptr<const Registry>> r = Registry::Parse(
      WithLines(
          {R"(safeguards { ref: "SG-1" kind: TRANSFER_KIND_SAFEGUARD_37B senders: ["DE-BKA"])",
           R"(  recipients: ["NL-NP"] entity_types: [ENTITY_TYPE_VEHICLE] purposes: [PURPOSE_DETECT] })"}),
      "s.textproto");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(std::string(r.status().message()),
              HasSubstr("s.textproto:5: field safeguards[0].recipients[0]: 'NL-NP' is not a "
                        "third-country endpoint"));
}

TEST(Registry, RejectsAJitExtensionThatDoesNotMatchTheEnd) {
  absl::StatusOr<std::shared_ptr<const Registry>> r = Registry::Parse(
      WithLines(
          {R"(jits { id: "J" name: "N" members: ["DE-BKA", "NL-NP"])",
           R"(  start { seconds: 1748736000 } end { seconds: 1780272000 })",
           R"(  extensions { previous_end { seconds: 1767225600 } new_end { seconds: 1775000000 } } })"}),
      "x.textproto");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(
      std::string(r.status().message()),
      HasSubstr("x.textproto:5: field jits[0].end: must equal the last extension's new_end"));
}

TEST(Registry, EvidenceRetentionDefaultsTo28DaysAndZeroGrace) {
  absl::StatusOr<std::shared_ptr<const Registry>> r = Registry::Parse(WithLines({}), "d.textproto");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)->EvidenceMaxAge(), absl::Hours(24 * 28));
  EXPECT_EQ((*r)->EvidenceAfterJitEnd(), absl::ZeroDuration());
  absl::StatusOr<std::shared_ptr<const Registry>> set = Registry::Parse(
      WithLines(
          {R"(evidence_retention { max_age { seconds: 86400 } after_jit_end { seconds: 3600 } })"}),
      "e.textproto");
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ((*set)->EvidenceMaxAge(), absl::Hours(24));
  EXPECT_EQ((*set)->EvidenceAfterJitEnd(), absl::Hours(1));
}

TEST(Registry, RejectsEvidenceRetentionAbove28DaysOrNegative) {
  absl::StatusOr<std::shared_ptr<const Registry>> r =
      Registry::Parse(WithLines({R"(evidence_retention { max_age { seconds: 2419201 })",
                                 R"(  after_jit_end { seconds: -1 } })"}),
                      "r.textproto");
  ASSERT_FALSE(r.ok());
  const std::string msg(r.status().message());
  EXPECT_THAT(msg, HasSubstr("r.textproto:4: field evidence_retention.max_age: must be at most 28 "
                             "days (2419200 s), not 2419201 s"));
  EXPECT_THAT(msg, HasSubstr("r.textproto:5: field evidence_retention.after_jit_end: must not be "
                             "negative"));
  absl::StatusOr<std::shared_ptr<const Registry>> zero = Registry::Parse(
      WithLines({R"(evidence_retention { max_age { seconds: 0 } })"}), "z.textproto");
  ASSERT_FALSE(zero.ok());
  EXPECT_THAT(std::string(zero.status().message()),
              HasSubstr("field evidence_retention.max_age: must be a positive duration"));
}

TEST(Registry, RejectsUnknownShadowRulesAndAllowlistFields) {
  absl::StatusOr<std::shared_ptr<const Registry>> r =
      Registry::Parse(WithLines({R"(shadow_rules: ["DP-NOPE-01"])",
                                 R"(field_allowlists { person_fields: ["names", "shoe_size"] })"}),
                      "y.textproto");
  ASSERT_FALSE(r.ok());
  const std::string msg(r.status().message());
  EXPECT_THAT(msg, HasSubstr("y.textproto:4: field shadow_rules[0]: unknown rule id 'DP-NOPE-01'"));
  EXPECT_THAT(msg,
              HasSubstr("y.textproto:5: field field_allowlists[0].person_fields[1]: 'shoe_size' "
                        "is not a liaison.v1.Person field"));
}

TEST(Registry, FromProtoReportsFieldPathsWithoutLines) {
  liaison::v1::Registry proto = scenario::DevRegistry()->proto();
  proto.mutable_endpoints(3)->set_country("XX");
  absl::StatusOr<std::shared_ptr<const Registry>> r = Registry::FromProto(proto, "kafka");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(
      std::string(r.status().message()),
      HasSubstr("kafka: field endpoints[3].country: 'XX' is not an ISO 3166-1 alpha-2 code"));
}

TEST(Registry, VersionHashFollowsContentNotComments) {
  const std::string base = WithLines({});
  auto a = Registry::Parse(base, "a");
  auto b = Registry::Parse(base + "\n# a comment\n", "b");
  auto c = Registry::Parse(base + "\nrestriction_codes: [\"NOT_BEFORE\"]\n", "c");
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ((*a)->version(), (*b)->version());
  EXPECT_NE((*a)->version(), (*c)->version());
  EXPECT_THAT((*a)->version(), HasSubstr("test-1+"));
}

// Found by registry_fuzz under UBSan: an identifier type the enum does not
// define (text format accepts the number) was shifted into a 32-bit mask
// (shift exponent 47: undefined; on x86 it allowed type 47 % 32 = 15).
TEST(Registry, RejectsUnknownLinkageIdentifierTypes) {
  auto r = Registry::Parse(WithLines({R"(linkage { max_identifiers: 5 allowed_types: [)"
                                      R"(IDENTIFIER_TYPE_PHONE, 47, -1] })"}),
                           "l.textproto");
  ASSERT_FALSE(r.ok());
  const std::string msg(r.status().message());
  EXPECT_THAT(msg,
              HasSubstr("l.textproto:4: field linkage.allowed_types[1]: unknown identifier type"));
  EXPECT_THAT(msg,
              HasSubstr("l.textproto:4: field linkage.allowed_types[2]: unknown identifier type"));
  liaison::v1::Registry proto = scenario::DevRegistry()->proto();
  proto.mutable_linkage()->add_allowed_types(static_cast<liaison::v1::IdentifierType>(32));
  EXPECT_FALSE(Registry::FromProto(proto, "kafka").ok());
}

TEST(Registry, AbsentSectionsTakeTheDomainDefaults) {
  auto r = Registry::Parse(WithLines({}), "min");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)->HoldTimeout(liaison::v1::URGENCY_ROUTINE), absl::Hours(72));
  EXPECT_EQ((*r)->HoldTimeout(liaison::v1::URGENCY_URGENT), absl::Hours(2));
  EXPECT_EQ((*r)->derogation().max_subjects, 3);
  EXPECT_EQ((*r)->max_linkage_identifiers(), 20);
  EXPECT_TRUE((*r)->LinkageTypeAllowed(liaison::v1::IDENTIFIER_TYPE_IBAN));
  EXPECT_FALSE((*r)->LinkageTypeAllowed(liaison::v1::IDENTIFIER_TYPE_PERSON_NAME));
  EXPECT_TRUE((*r)->LinkageTypeAllowed(liaison::v1::IDENTIFIER_TYPE_VEHICLE_PLATE));
  EXPECT_THAT((*r)->linkage_epochs(), ::testing::ElementsAre(1u));
  EXPECT_EQ((*r)->max_linkage_queries_per_day(), 100);
  EXPECT_EQ((*r)->max_linkage_entries_per_endpoint(), 1000000);
}

// Rotation of the network linkage key: while both epochs are in force either
// answers; once the old one is dropped it is "retired", a newer one not yet
// listed is "not in force yet".
TEST(Registry, LinkageEpochsInForceRetiredAndNotYetInForce) {
  auto r = Registry::Parse(WithLines({R"(linkage { max_identifiers: 20 active_epochs: [3, 2] })"}),
                           "l.textproto");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT((*r)->linkage_epochs(), ::testing::ElementsAre(2u, 3u));
  EXPECT_TRUE((*r)->CheckLinkageEpoch(2).ok());
  EXPECT_TRUE((*r)->CheckLinkageEpoch(3).ok());
  const absl::Status retired = (*r)->CheckLinkageEpoch(1);
  EXPECT_EQ(retired.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(retired.message(), "linkage epoch 1 is retired (in force: 2, 3)");
  EXPECT_EQ((*r)->CheckLinkageEpoch(4).message(),
            "linkage epoch 4 is not in force yet (in force: 2, 3)");
}

TEST(Registry, RejectsEpochZeroAndRepeatedEpochsAndNegativeLimits) {
  auto r =
      Registry::Parse(WithLines({R"(linkage { max_identifiers: 20 active_epochs: [0, 2, 2])"
                                 R"( max_queries_per_day: -1 max_entries_per_endpoint: -5 })"}),
                      "l.textproto");
  ASSERT_FALSE(r.ok());
  const std::string msg(r.status().message());
  EXPECT_THAT(msg, HasSubstr("linkage.active_epochs[0]: epoch 0 does not exist"));
  EXPECT_THAT(msg, HasSubstr("linkage.active_epochs[2]: epoch 2 twice"));
  EXPECT_THAT(msg, HasSubstr("linkage.max_queries_per_day: must not be negative"));
  EXPECT_THAT(msg, HasSubstr("linkage.max_entries_per_endpoint: must not be negative"));
}

}  // namespace
}  // namespace liaison::policy

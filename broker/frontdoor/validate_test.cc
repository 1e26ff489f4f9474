// The front door's structural checks, one row per way a message can be
// wrong: each names the field path and the problem, and never echoes a
// payload value.
#include "broker/frontdoor/validate.h"

#include "broker/frontdoor/dev_registry_for_test.h"

#include <functional>
#include <string>

#include "base/proto_time.h"
#include "base/testing/status_matchers.h"
#include "base/uuid.h"
#include "gtest/gtest.h"

namespace liaison::broker {
namespace {

using ::liaison::testing::IsError;
using ::liaison::v1::Message;

const absl::Time kNow = absl::FromUnixSeconds(1767225600);

std::shared_ptr<const policy::Registry> DevRegistry() { return DevRegistryForTest(); }

// A valid alert from DE-BKA to FR-OCRTEH and SE-NOA.
Message ValidAlert() {
  Message m;
  liaison::v1::Header* h = m.mutable_header();
  h->set_message_id(NewUuidV7(kNow - absl::Minutes(1)));
  h->set_kind(liaison::v1::KIND_ALERT);
  *h->mutable_created_at() = ToProto(kNow - absl::Minutes(1));
  h->set_sender("DE-BKA");
  h->add_recipients("FR-OCRTEH");
  h->add_recipients("SE-NOA");
  h->add_purposes(liaison::v1::PURPOSE_INVESTIGATE);
  m.mutable_alert();
  return m;
}

TEST(Validate, AValidAlertAndAConsentToNobodyPass) {
  EXPECT_TRUE(ValidateForIngress(ValidAlert(), *DevRegistry(), kNow).ok());
  Message consent = ValidAlert();
  consent.mutable_header()->set_kind(liaison::v1::KIND_CONSENT);
  consent.mutable_header()->clear_recipients();
  consent.mutable_consent();
  EXPECT_TRUE(ValidateForIngress(consent, *DevRegistry(), kNow).ok());
}

struct InvalidCase {
  std::string name;
  std::function<void(Message&)> spoil;
  std::string field_path;  // the message starts with "<path>: "
  std::string problem;     // and goes on to say this
};

class ValidateRefuses : public ::testing::TestWithParam<InvalidCase> {};

TEST_P(ValidateRefuses, NamingTheFieldPath) {
  Message m = ValidAlert();
  GetParam().spoil(m);
  const absl::Status s = ValidateForIngress(m, *DevRegistry(), kNow);
  EXPECT_TRUE(IsError(s, absl::StatusCode::kInvalidArgument, GetParam().field_path + ": "));
  EXPECT_EQ(s.message().rfind(GetParam().field_path + ": ", 0), 0u) << s;
  EXPECT_TRUE(IsError(s, absl::StatusCode::kInvalidArgument, GetParam().problem));
  EXPECT_EQ(s.message().find("PAYLOAD-MARKER"), std::string::npos) << s;
}

liaison::v1::Header& H(Message& m) { return *m.mutable_header(); }

INSTANTIATE_TEST_SUITE_P(
    Table, ValidateRefuses,
    ::testing::Values(
        InvalidCase{"NoHeader", [](Message& m) { m.clear_header(); }, "header", "missing"},
        InvalidCase{"NoMessageId", [](Message& m) { H(m).clear_message_id(); }, "header.message_id",
                    "missing"},
        InvalidCase{"MessageIdNotUuidV7", [](Message& m) { H(m).set_message_id("PAYLOAD-MARKER"); },
                    "header.message_id", "lower-case UUIDv7"},
        InvalidCase{"UpperCaseUuid",
                    [](Message& m) {
                      std::string id = H(m).message_id();
                      for (char& c : id) c = static_cast<char>(std::toupper(c));
                      H(m).set_message_id(id);
                    },
                    "header.message_id", "lower-case UUIDv7"},
        InvalidCase{"NoKind", [](Message& m) { H(m).clear_kind(); }, "header.kind", "missing"},
        InvalidCase{"UnknownKind",
                    [](Message& m) { H(m).set_kind(static_cast<liaison::v1::Kind>(999)); },
                    "header.kind", "unknown value 999"},
        InvalidCase{"NoticeFromASender",
                    [](Message& m) { H(m).set_kind(liaison::v1::KIND_NOTICE); }, "header.kind",
                    "issued by the broker only"},
        InvalidCase{"WrongBody", [](Message& m) { m.mutable_info(); }, "body",
                    "KIND_ALERT needs the 'alert' body, found 'info'"},
        InvalidCase{"NoBody", [](Message& m) { m.clear_body(); }, "body", "found 'none'"},
        InvalidCase{"NoCreatedAt", [](Message& m) { H(m).clear_created_at(); }, "header.created_at",
                    "missing"},
        InvalidCase{
            "CreatedInTheFuture",
            [](Message& m) { *H(m).mutable_created_at() = ToProto(kNow + absl::Minutes(10)); },
            "header.created_at", "in the future (allowed clock skew 5m)"},
        InvalidCase{
            "CreatedBeforeTheWindow",
            [](Message& m) { *H(m).mutable_created_at() = ToProto(kNow - absl::Hours(24 * 8)); },
            "header.created_at", "older than the deduplication window"},
        InvalidCase{"IdMintedBeforeTheWindow",
                    [](Message& m) { H(m).set_message_id(NewUuidV7(kNow - absl::Hours(24 * 8))); },
                    "header.message_id", "outside the deduplication window"},
        InvalidCase{"NoSender", [](Message& m) { H(m).clear_sender(); }, "header.sender",
                    "missing"},
        InvalidCase{"NoRecipients", [](Message& m) { H(m).clear_recipients(); },
                    "header.recipients", "at least one recipient"},
        InvalidCase{"TooManyRecipients",
                    [](Message& m) {
                      for (int i = 0; i < 70; ++i) H(m).add_recipients("SE-NOA");
                    },
                    "header.recipients", "72 recipients; the limit is 64"},
        InvalidCase{"SenderAddressesItself", [](Message& m) { H(m).add_recipients("DE-BKA"); },
                    "header.recipients[2]", "the sender cannot address itself"},
        InvalidCase{"UnknownRecipient", [](Message& m) { H(m).set_recipients(1, "XX-FOO"); },
                    "header.recipients[1]", "unknown endpoint 'XX-FOO'"},
        InvalidCase{"DuplicateRecipient", [](Message& m) { H(m).add_recipients("FR-OCRTEH"); },
                    "header.recipients[2]", "duplicate of header.recipients[0]"},
        InvalidCase{"UnspecifiedPurpose",
                    [](Message& m) { H(m).add_purposes(liaison::v1::PURPOSE_UNSPECIFIED); },
                    "header.purposes[1]", "unknown value 0"},
        InvalidCase{"UnknownPurpose",
                    [](Message& m) { H(m).add_purposes(static_cast<liaison::v1::Purpose>(77)); },
                    "header.purposes[1]", "unknown value 77"}),
    [](const ::testing::TestParamInfo<InvalidCase>& info) { return info.param.name; });

TEST(Validate, LimitsAreTheCallers) {
  ValidationLimits tight;
  tight.max_recipients = 1;
  EXPECT_TRUE(IsError(ValidateForIngress(ValidAlert(), *DevRegistry(), kNow, tight),
                      absl::StatusCode::kInvalidArgument, "2 recipients; the limit is 1"));
  tight = {};
  tight.max_age = absl::Seconds(30);  // the message is a minute old
  EXPECT_TRUE(IsError(ValidateForIngress(ValidAlert(), *DevRegistry(), kNow, tight),
                      absl::StatusCode::kInvalidArgument, "header.created_at: is older"));
}

}  // namespace
}  // namespace liaison::broker

// ParseJson's errors: where (file:line:column), what, and the nearest name.
#include "connectors/cli/json_input.h"

#include <string>

#include "absl/strings/match.h"
#include "connectors/cli/suggest.h"
#include "gtest/gtest.h"
#include "liaison/v1/envelope.pb.h"
#include "liaison/v1/message.pb.h"

namespace liaison::cli {
namespace {

std::string ErrorOf(const std::string& text) {
  liaison::v1::Message message;
  absl::Status s = ParseJson(text, "m.json", &message);
  EXPECT_FALSE(s.ok()) << text;
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  return std::string(s.message());
}

TEST(CliJsonInput, MisspelledFieldGivesPositionAndNearestName) {
  const std::string text =
      "{\n  \"header\": {\n    \"kind\": \"KIND_ALERT\",\n"
      "    \"recipent\": [\"DE-BKA\"]\n  }\n}\n";
  EXPECT_EQ(ErrorOf(text),
            "m.json:4:5: header.recipent: unknown field of liaison.v1.Header; "
            "did you mean 'recipients'?");
}

TEST(CliJsonInput, FieldFarFromEveryNameListsTheFields) {
  const std::string error = ErrorOf(R"({"header": {"zzzzzzzzzz": 1}})");
  EXPECT_TRUE(absl::StartsWith(error, "m.json:1:13: header.zzzzzzzzzz: unknown field")) << error;
  EXPECT_TRUE(absl::StrContains(error, "its fields: ")) << error;
  EXPECT_TRUE(absl::StrContains(error, "recipients")) << error;
}

TEST(CliJsonInput, SyntaxErrorsGivePosition) {
  // A missing comma between two fields on line 3.
  EXPECT_EQ(ErrorOf("{\n \"header\": {\n  \"kind\": \"KIND_ALERT\"\n  \"sender\": \"RO-IGPR\"}}"),
            "m.json:4:3: header: expected ',' or '}' after a field");
  EXPECT_EQ(ErrorOf("{\"header\": {\"kind\": \"KIND_ALERT}}"),
            "m.json:1:21: header.kind: unterminated string (no closing '\"')");
  EXPECT_EQ(ErrorOf(""), "m.json:1:1: unexpected end of input: a value is missing");
  EXPECT_EQ(ErrorOf("{} x"), "m.json:1:4: unexpected text after the JSON value");
  // Columns count characters, not bytes.
  EXPECT_EQ(ErrorOf("{\"header\": {\"sender_officer\": \"é\" \"x\"}}"),
            "m.json:1:35: header: expected ',' or '}' after a field");
}

TEST(CliJsonInput, MisspelledEnumValueGivesNearestValue) {
  EXPECT_EQ(ErrorOf(R"({"header": {"kind": "KIND_ALRT"}})"),
            "m.json:1:21: header.kind: 'KIND_ALRT' is not a value of liaison.v1.Kind; "
            "did you mean 'KIND_ALERT'?");
  // The value without its enum's prefix, misspelled.
  EXPECT_EQ(ErrorOf(R"({"header": {"purposes": ["INVESTIGTE"]}})"),
            "m.json:1:26: header.purposes[0]: 'INVESTIGTE' is not a value of liaison.v1.Purpose; "
            "did you mean 'PURPOSE_INVESTIGATE'?");
}

TEST(CliJsonInput, WrongJsonTypeIsNamed) {
  EXPECT_EQ(ErrorOf(R"({"header": {"recipients": "DE-BKA"}})"),
            "m.json:1:27: header.recipients: expected a list [...] of a string");
  EXPECT_EQ(ErrorOf(R"({"header": "x"})"),
            "m.json:1:12: header: expected an object, found a string");
  EXPECT_EQ(ErrorOf(R"({"header": {"recipients": [{"a": 1}]}})"),
            "m.json:1:28: header.recipients[0]: expected a string, found an object");
}

TEST(CliJsonInput, DeepNestingIsRefusedNotRecursedInto) {
  std::string text = R"({"header": {"handling": )";
  for (int i = 0; i < 200; ++i) text += "[";
  EXPECT_TRUE(absl::StrContains(ErrorOf(text), "expected an object")) << ErrorOf(text);
  std::string deep(5000, '[');
  liaison::v1::DeliveryItem item;
  absl::Status s = ParseJson(deep, "d.json", &item);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
}

TEST(CliJsonInput, ValidMessageParsesWithProtoAndJsonNames) {
  liaison::v1::Message message;
  absl::Status s = ParseJson(R"({"header": {"kind": "KIND_ALERT", "recipients": ["DE-BKA"],
                                  "caseRef": "ZZTEST-1",
                                  "retention": {"review_by": "2026-05-18T09:00:00Z"}}})",
                             "ok.json", &message);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(message.header().recipients(0), "DE-BKA");
  EXPECT_EQ(message.header().case_ref(), "ZZTEST-1");
  EXPECT_TRUE(message.header().retention().has_review_by());
}

TEST(CliJsonInput, WhatOnlyProtobufCatchesStillNamesTheFile) {
  liaison::v1::Message message;
  absl::Status s =
      ParseJson(R"({"header": {"retention": {"review_by": "not a time"}}})", "t.json", &message);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(s.message(), "t.json: not a valid liaison.v1.Message")) << s;
}

TEST(Suggest, NearestNameToleratesTyposButNotStrangers) {
  EXPECT_EQ(Nearest("RO-IGRP", {"DE-BKA", "RO-IGPR", "MD-IGP"}), "RO-IGPR");
  EXPECT_EQ(Nearest("sned", {"send", "subscribe", "verify"}), "send");
  EXPECT_EQ(Nearest("banana", {"send", "subscribe", "verify"}), std::nullopt);
  EXPECT_EQ(EditDistance("recipeints", "recipients"), 1u);
}

}  // namespace
}  // namespace liaison::cli

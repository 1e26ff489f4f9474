// The linkage message builders: what they fill in, and each input they
// refuse before anything is signed. (LinkageReplyTo needs signed items: its
// tests are in item_verifier_test.cc, next to the item builder.)
#include "connectors/endpoint/linkage_messages.h"

#include <functional>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "base/proto_time.h"
#include "base/testing/status_matchers.h"
#include "base/uuid.h"
#include "gtest/gtest.h"

namespace liaison::endpoint {
namespace {

using liaison::testing::IsError;
using liaison::v1::BlindedIdentifier;
using liaison::v1::Message;

constexpr absl::StatusCode kInvalid = absl::StatusCode::kInvalidArgument;

const absl::Time kNow = absl::FromUnixSeconds(1'780'000'000);

LinkageHeader Header(std::vector<std::string> recipients = {"RO-IGPR", "DE-BKA"}) {
  return LinkageHeader{.recipients = std::move(recipients),
                       .case_ref = "ES-2026-0091",
                       .legal_basis = {"EU-DIR-2023/977"},
                       .purposes = {liaison::v1::PURPOSE_INVESTIGATE},
                       .review_by = kNow + absl::Hours(24 * 30),
                       .erase_by = kNow + absl::Hours(24 * 90)};
}

BlindedIdentifier Id(liaison::v1::IdentifierType type, char fill) {
  BlindedIdentifier id;
  id.set_type(type);
  id.set_scheme("HMAC-SHA256/epoch-1");
  id.set_value(std::string(32, fill));
  return id;
}

std::vector<BlindedIdentifier> TwoIds() {
  return {Id(liaison::v1::IDENTIFIER_TYPE_IBAN, '\x01'),
          Id(liaison::v1::IDENTIFIER_TYPE_PHONE, '\x02')};
}

TEST(MakeLinkageQuery, FillsTheHeaderAndTheBody) {
  LIAISON_ASSERT_OK_AND_ASSIGN(Message m, MakeLinkageQuery(Header(), "THB", TwoIds()));
  const liaison::v1::Header& h = m.header();
  EXPECT_EQ(h.kind(), liaison::v1::KIND_LINKAGE_QUERY);
  ASSERT_EQ(h.recipients_size(), 2);
  EXPECT_EQ(h.recipients(1), "DE-BKA");
  EXPECT_EQ(h.case_ref(), "ES-2026-0091");
  ASSERT_EQ(h.legal_basis_size(), 1);
  EXPECT_EQ(h.legal_basis(0), "EU-DIR-2023/977");
  ASSERT_EQ(h.purposes_size(), 1);
  EXPECT_EQ(h.purposes(0), liaison::v1::PURPOSE_INVESTIGATE);
  EXPECT_EQ(FromProto(h.retention().erase_by()), kNow + absl::Hours(24 * 90));
  EXPECT_EQ(FromProto(h.retention().review_by()), kNow + absl::Hours(24 * 30));
  EXPECT_EQ(h.urgency(), liaison::v1::URGENCY_ROUTINE);
  EXPECT_EQ(h.handling().code(), liaison::v1::HANDLING_CODE_H0);
  // Left to Client::Seal.
  EXPECT_TRUE(h.message_id().empty());
  EXPECT_TRUE(h.sender().empty());
  EXPECT_FALSE(h.has_created_at());
  const liaison::v1::LinkageQuery& q = m.linkage_query();
  EXPECT_EQ(q.case_ref(), "ES-2026-0091");
  EXPECT_EQ(q.offence_code(), "THB");
  ASSERT_EQ(q.identifiers_size(), 2);
  EXPECT_EQ(q.identifiers(0).type(), liaison::v1::IDENTIFIER_TYPE_IBAN);
  EXPECT_EQ(q.identifiers(1).value(), std::string(32, '\x02'));
}

TEST(MakeLinkageQuery, TakesTwentyIdentifiersAndRefusesTwentyOne) {
  std::vector<BlindedIdentifier> ids;
  for (int i = 0; i < kMaxQueryIdentifiers; ++i) {
    ids.push_back(Id(liaison::v1::IDENTIFIER_TYPE_PHONE, static_cast<char>(i + 1)));
  }
  LIAISON_ASSERT_OK(MakeLinkageQuery(Header(), "THB", ids).status());
  ids.push_back(Id(liaison::v1::IDENTIFIER_TYPE_PHONE, 'x'));
  EXPECT_TRUE(IsError(MakeLinkageQuery(Header(), "THB", ids), kInvalid,
                      "linkage_query.identifiers: 21 identifiers; a query carries at most 20 "
                      "(DP-LINK-01)"));
}

struct Refusal {
  const char* name;
  std::function<void(LinkageHeader&, std::string&, std::vector<BlindedIdentifier>&)> change;
  const char* fragment;
};

class MakeLinkageQueryRefuses : public ::testing::TestWithParam<Refusal> {};
TEST_P(MakeLinkageQueryRefuses, NamingTheField) {
  LinkageHeader h = Header();
  std::string offence = "THB";
  std::vector<BlindedIdentifier> ids = TwoIds();
  GetParam().change(h, offence, ids);
  EXPECT_TRUE(IsError(MakeLinkageQuery(h, offence, ids), kInvalid, GetParam().fragment));
}
INSTANTIATE_TEST_SUITE_P(
    LinkageMessages, MakeLinkageQueryRefuses,
    ::testing::Values(
        Refusal{"NoRecipient", [](auto& h, auto&, auto&) { h.recipients.clear(); },
                "header.recipients: name the endpoints"},
        Refusal{"NoCaseRef", [](auto& h, auto&, auto&) { h.case_ref.clear(); },
                "linkage_query.case_ref: missing"},
        Refusal{"NoOffence", [](auto&, auto& o, auto&) { o.clear(); },
                "linkage_query.offence_code: must be 1 to 32 of A-Z"},
        Refusal{"LowerCaseOffence", [](auto&, auto& o, auto&) { o = "thb"; },
                "linkage_query.offence_code"},
        Refusal{"Wildcard", [](auto&, auto& o, auto&) { o = "THB*"; },
                "linkage_query.offence_code"},
        Refusal{"NoIdentifier", [](auto&, auto&, auto& ids) { ids.clear(); },
                "linkage_query.identifiers: none"},
        Refusal{"CleartextName",
                [](auto&, auto&, auto& ids) {
                  ids[1].set_type(liaison::v1::IDENTIFIER_TYPE_PERSON_NAME);
                  ids[1].set_value("ZZTEST-IVANOVA ZZTEST-ELENA");
                },
                "linkage_query.identifiers[1].type: a name alone is never searched (DP-LINK-01)"},
        Refusal{"UnspecifiedType",
                [](auto&, auto&, auto& ids) {
                  ids[0].set_type(liaison::v1::IDENTIFIER_TYPE_UNSPECIFIED);
                },
                "linkage_query.identifiers[0].type: unknown identifier type 0"},
        Refusal{"ShortValue", [](auto&, auto&, auto& ids) { ids[0].set_value("0721000111"); },
                "linkage_query.identifiers[0].value: 10 bytes; a blinded value is 32 bytes"},
        Refusal{"NoScheme", [](auto&, auto&, auto& ids) { ids[1].set_scheme("none"); },
                "linkage_query.identifiers[1].scheme: must be HMAC-SHA256/epoch-N"},
        Refusal{"EpochZero",
                [](auto&, auto&, auto& ids) { ids[1].set_scheme("HMAC-SHA256/epoch-0"); },
                "linkage_query.identifiers[1].scheme"},
        Refusal{"SameIdentifierTwice", [](auto&, auto&, auto& ids) { ids.push_back(ids[0]); },
                "linkage_query.identifiers[2]: the same identifier twice"},
        Refusal{"NoPurpose", [](auto& h, auto&, auto&) { h.purposes.clear(); },
                "header.purposes: at least one purpose is required"},
        Refusal{"NoHandlingCode",
                [](auto& h, auto&, auto&) { h.handling = liaison::v1::HANDLING_CODE_UNSPECIFIED; },
                "header.handling.code: H0, H1 or H2"},
        Refusal{"H3WithoutRestrictions",
                [](auto& h, auto&, auto&) { h.handling = liaison::v1::HANDLING_CODE_H3; },
                "header.handling.code: H0, H1 or H2 (H3 needs restriction codes"},
        Refusal{"NoRetention", [](auto& h, auto&, auto&) { h.erase_by = absl::InfinitePast(); },
                "header.retention: review_by and erase_by are required"}),
    [](const auto& info) { return std::string(info.param.name); });

liaison::v1::FollowUpRequest FollowUp() {
  liaison::v1::FollowUpRequest f;
  f.set_owner("RO-IGPR");
  f.set_owner_ref("LNK-RO-0713");
  f.set_query_id(NewUuidV7(kNow));
  f.add_purposes(liaison::v1::PURPOSE_INVESTIGATE);
  f.set_justification_id("ES-JUST-0091");
  return f;
}

TEST(MakeFollowUpRequest, GoesToTheOwnerOnly) {
  LIAISON_ASSERT_OK_AND_ASSIGN(Message m, MakeFollowUpRequest(Header({}), FollowUp()));
  EXPECT_EQ(m.header().kind(), liaison::v1::KIND_FOLLOWUP_REQUEST);
  ASSERT_EQ(m.header().recipients_size(), 1);
  EXPECT_EQ(m.header().recipients(0), "RO-IGPR");
  EXPECT_EQ(m.header().case_ref(), "ES-2026-0091");
  EXPECT_EQ(m.followup_request().owner_ref(), "LNK-RO-0713");
  EXPECT_EQ(m.followup_request().justification_id(), "ES-JUST-0091");
  ASSERT_EQ(m.followup_request().purposes_size(), 1);
  // Anyone else as a recipient is refused.
  EXPECT_TRUE(IsError(MakeFollowUpRequest(Header({"RO-IGPR", "DE-BKA"}), FollowUp()), kInvalid,
                      "header.recipients: a follow-up goes to the owner only"));
  // The purposes of the body become the header's when the header has none.
  LinkageHeader no_purpose = Header({});
  no_purpose.purposes.clear();
  LIAISON_ASSERT_OK_AND_ASSIGN(Message p, MakeFollowUpRequest(no_purpose, FollowUp()));
  ASSERT_EQ(p.header().purposes_size(), 1);
  EXPECT_EQ(p.header().purposes(0), liaison::v1::PURPOSE_INVESTIGATE);
}

TEST(MakeFollowUpRequest, RefusesWhatTheOwnerCouldNotPlace) {
  liaison::v1::FollowUpRequest f = FollowUp();
  f.set_owner_ref("RO-2026-0502");
  EXPECT_TRUE(IsError(MakeFollowUpRequest(Header({}), f), kInvalid,
                      "followup_request.owner_ref: must be the owner's case handle"));
  f = FollowUp();
  f.set_query_id("query-7");
  EXPECT_TRUE(IsError(MakeFollowUpRequest(Header({}), f), kInvalid,
                      "followup_request.query_id: must be the message id of the query"));
  f = FollowUp();
  f.clear_justification_id();
  EXPECT_TRUE(IsError(MakeFollowUpRequest(Header({}), f), kInvalid,
                      "followup_request.justification_id: missing"));
  f = FollowUp();
  f.clear_owner();
  EXPECT_TRUE(
      IsError(MakeFollowUpRequest(Header({}), f), kInvalid, "followup_request.owner: missing"));
}

TEST(MakeFollowUpDecision, ApprovalNamesTheDetailsAndRefusalAReason) {
  const std::string followup = NewUuidV7(kNow);
  liaison::v1::FollowUpDecision approve;
  approve.set_followup_id(followup);
  approve.set_approve(true);
  approve.set_details_message_id(NewUuidV7(kNow + absl::Seconds(1)));
  LIAISON_ASSERT_OK_AND_ASSIGN(Message m, MakeFollowUpDecision(Header({"ES-PN"}), approve));
  EXPECT_EQ(m.header().kind(), liaison::v1::KIND_FOLLOWUP_DECISION);
  EXPECT_EQ(m.header().in_reply_to(), followup);
  EXPECT_TRUE(m.followup_decision().approve());

  liaison::v1::FollowUpDecision refuse;
  refuse.set_followup_id(followup);
  refuse.set_reason_code("ONGOING_OPERATION");
  LIAISON_ASSERT_OK_AND_ASSIGN(Message r, MakeFollowUpDecision(Header({"ES-PN"}), refuse));
  EXPECT_FALSE(r.followup_decision().approve());
  EXPECT_EQ(r.followup_decision().reason_code(), "ONGOING_OPERATION");

  liaison::v1::FollowUpDecision bad = approve;
  bad.clear_details_message_id();
  EXPECT_TRUE(IsError(MakeFollowUpDecision(Header({"ES-PN"}), bad), kInvalid,
                      "followup_decision.details_message_id: an approval names"));
  bad = approve;
  bad.set_reason_code("FINE");
  EXPECT_TRUE(IsError(MakeFollowUpDecision(Header({"ES-PN"}), bad), kInvalid,
                      "followup_decision.reason_code: only a refusal gives a reason"));
  bad = refuse;
  bad.set_reason_code("the suspect is our informant");
  EXPECT_TRUE(IsError(MakeFollowUpDecision(Header({"ES-PN"}), bad), kInvalid,
                      "followup_decision.reason_code: a refusal gives a reason code"));
  bad = refuse;
  bad.set_details_message_id(approve.details_message_id());
  EXPECT_TRUE(IsError(MakeFollowUpDecision(Header({"ES-PN"}), bad), kInvalid,
                      "followup_decision.details_message_id: only an approval names one"));
  bad = refuse;
  bad.set_followup_id("FU-1");
  EXPECT_TRUE(IsError(MakeFollowUpDecision(Header({"ES-PN"}), bad), kInvalid,
                      "followup_decision.followup_id: must be the message id"));
  EXPECT_TRUE(IsError(MakeFollowUpDecision(Header({"ES-PN", "DE-BKA"}), refuse), kInvalid,
                      "header.recipients: a decision goes to the requester only"));
}

TEST(IsCaseHandle, TakesLnkHandlesOnly) {
  EXPECT_TRUE(IsCaseHandle("LNK-RO-0713"));
  EXPECT_TRUE(IsCaseHandle("LNK-a"));
  EXPECT_TRUE(IsCaseHandle("LNK-" + std::string(64, 'Z')));
  EXPECT_FALSE(IsCaseHandle("LNK-" + std::string(65, 'Z')));
  EXPECT_FALSE(IsCaseHandle("LNK-"));
  EXPECT_FALSE(IsCaseHandle("LNK-RO 0713"));
  EXPECT_FALSE(IsCaseHandle("RO-0713"));
}

}  // namespace
}  // namespace liaison::endpoint

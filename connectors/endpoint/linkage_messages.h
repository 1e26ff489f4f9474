// Case linkage as messages: the LINKAGE_QUERY an endpoint sends with
// identifiers it blinded (connectors/endpoint/linkage), the FOLLOWUP_REQUEST
// it sends an owner after a hit, the owner's FOLLOWUP_DECISION, and how the
// querier recognises the broker's LINKAGE_REPLY to its own query among the
// items it receives. Nothing here sees a cleartext identifier.
//
//   LinkageHeader h{.recipients = {"RO-IGPR"}, .case_ref = "ES-2026-0091", ...};
//   auto query = MakeLinkageQuery(h, "THB", blinded);      // not sealed yet
//   auto envelope = client->Seal(*query, absl::Now());     // mints the query id
//   client->Send(*envelope);
//   ... for each received item:
//   auto reply = LinkageReplyTo(*received.verified, *envelope);
//   if (reply.ok() && reply->has_value()) { /* the index's answer */ }
//
// The builders fill header.kind, the body and the fields below; Client::Seal
// adds the sender, the message id and created_at. Each refuses what the
// broker would refuse anyway (InvalidArgument naming the field), so a bad
// message is never signed.
#ifndef LIAISON_CONNECTORS_ENDPOINT_LINKAGE_MESSAGES_H_
#define LIAISON_CONNECTORS_ENDPOINT_LINKAGE_MESSAGES_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "connectors/endpoint/item_verifier.h"
#include "liaison/v1/envelope.pb.h"
#include "liaison/v1/message.pb.h"

namespace liaison::endpoint {

// The most identifiers one query may carry (DP-LINK-01).
inline constexpr int kMaxQueryIdentifiers = 20;

// Header fields of a linkage message; the policy chain decides each
// recipient on them (legal basis, purposes, retention, urgency).
struct LinkageHeader {
  std::vector<std::string> recipients;
  // The sender's own case reference (required in a query).
  std::string case_ref;
  // Registered legal-basis codes, e.g. "EU-DIR-2023/977" (DP-BASIS-01).
  std::vector<std::string> legal_basis;
  std::vector<liaison::v1::Purpose> purposes;
  // header.retention (DP-RET-01: both required, within the kind's maximum).
  absl::Time review_by = absl::InfinitePast();
  absl::Time erase_by = absl::InfinitePast();
  liaison::v1::Urgency urgency = liaison::v1::URGENCY_ROUTINE;
  liaison::v1::AccessKind access_kind = liaison::v1::ACCESS_KIND_UNSPECIFIED;
  // header.handling.code (DP-HC-01 refuses a message without). A linkage
  // message carries no content of a source's, so H0 by default; H3 needs
  // restriction codes, which these messages do not carry.
  liaison::v1::HandlingCode handling = liaison::v1::HANDLING_CODE_H0;
  // Pseudonymous staff id of the officer (optional).
  std::string sender_officer;
};

// A KIND_LINKAGE_QUERY of `identifiers` (each: a type other than
// UNSPECIFIED and PERSON_NAME, the scheme "HMAC-SHA256/epoch-N", a 32-byte
// value, no two equal) for the recipients' index entries. InvalidArgument:
// no recipient, no case_ref, an offence code that is not 1..32 of
// A-Z 0-9 - _ /, no purpose, missing retention, none or more than
// kMaxQueryIdentifiers identifiers, or one of them as above
// ("linkage_query.identifiers[3].value: 12 bytes; ...").
absl::StatusOr<liaison::v1::Message> MakeLinkageQuery(
    const LinkageHeader& header, absl::string_view offence_code,
    std::vector<liaison::v1::BlindedIdentifier> identifiers);

// A KIND_FOLLOWUP_REQUEST addressed to `body.owner` only (header.recipients
// must be empty or name just the owner): owner_ref "LNK-" + 1..64 of
// A-Z a-z 0-9 -, query_id a UUIDv7, at least one purpose (header.purposes
// too, when empty), a justification id. InvalidArgument naming the field.
absl::StatusOr<liaison::v1::Message> MakeFollowUpRequest(const LinkageHeader& header,
                                                         liaison::v1::FollowUpRequest body);

// The owner's KIND_FOLLOWUP_DECISION, addressed to the requester
// (header.recipients, exactly one), answering follow-up `body.followup_id`
// (a UUIDv7; also header.in_reply_to). Approval names the details message
// to come (details_message_id, a UUIDv7) and no reason; refusal a
// reason_code (1..64 of A-Z 0-9 _ -) and no details id. InvalidArgument
// naming the field.
absl::StatusOr<liaison::v1::Message> MakeFollowUpDecision(const LinkageHeader& header,
                                                          liaison::v1::FollowUpDecision body);

// Whether `item` is the linkage index's answer to `query` (the signed
// envelope this endpoint sent):
//  - nullopt: it is not about that query (another item, another query);
//  - the reply: a broker-authored KIND_LINKAGE_REPLY (ItemVerifier checked
//    that the broker that signed it wrote it) whose query_id is the query's
//    message id, whose attestation binds it to the query's signed bytes
//    (original_sha256), and whose every hit names one of the query's
//    identifiers, with an owner and an owner_ref, or is a bare no-hit;
//  - PermissionDenied / InvalidArgument: it claims to answer the query but
//    fails one of those checks (an endpoint's own LINKAGE_REPLY, a reply
//    bound to other bytes): not an answer from the index, do not use it.
absl::StatusOr<std::optional<liaison::v1::LinkageReply>> LinkageReplyTo(
    const VerifiedItem& item, const liaison::v1::SignedEnvelope& query);

// True for "LNK-" followed by 1 to 64 of A-Z a-z 0-9 - (an owner's case
// handle, as the index stores it).
bool IsCaseHandle(absl::string_view text);

}  // namespace liaison::endpoint

#endif  // LIAISON_CONNECTORS_ENDPOINT_LINKAGE_MESSAGES_H_

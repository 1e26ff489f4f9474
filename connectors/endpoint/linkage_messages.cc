#include "connectors/endpoint/linkage_messages.h"

#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "base/proto_time.h"
#include "base/uuid.h"
#include "certs/signature.h"

namespace liaison::endpoint {
namespace {

using liaison::v1::Message;

absl::Status Invalid(absl::string_view path, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", problem));
}

// 1..`max` characters, each alphanumeric (upper case only when `upper`) or
// one of `extra`.
bool IsCode(absl::string_view text, size_t max, absl::string_view extra, bool upper) {
  if (text.empty() || text.size() > max) return false;
  for (char c : text) {
    const unsigned char u = static_cast<unsigned char>(c);
    const bool letter = upper ? absl::ascii_isupper(u) : absl::ascii_isalpha(u);
    if (!letter && !absl::ascii_isdigit(u) && !absl::StrContains(extra, c)) return false;
  }
  return true;
}

// The header every linkage message shares; `kind` and the checks common to
// all three kinds.
absl::Status FillHeader(const LinkageHeader& in, liaison::v1::Kind kind, Message& m) {
  if (in.purposes.empty()) return Invalid("header.purposes", "at least one purpose is required");
  for (size_t i = 0; i < in.purposes.size(); ++i) {
    if (in.purposes[i] == liaison::v1::PURPOSE_UNSPECIFIED ||
        !liaison::v1::Purpose_IsValid(in.purposes[i])) {
      return Invalid(absl::StrCat("header.purposes[", i, "]"), "not a purpose");
    }
  }
  if (in.review_by == absl::InfinitePast() || in.erase_by == absl::InfinitePast()) {
    return Invalid("header.retention",
                   "review_by and erase_by are required (DP-RET-01 refuses a message without)");
  }
  if (in.erase_by < in.review_by) {
    return Invalid("header.retention.erase_by", "lies before review_by");
  }
  if (in.handling == liaison::v1::HANDLING_CODE_UNSPECIFIED ||
      in.handling == liaison::v1::HANDLING_CODE_H3 ||
      !liaison::v1::HandlingCode_IsValid(in.handling)) {
    return Invalid("header.handling.code",
                   "H0, H1 or H2 (H3 needs restriction codes; write such a message in full)");
  }
  liaison::v1::Header* h = m.mutable_header();
  h->set_kind(kind);
  h->mutable_handling()->set_code(in.handling);
  for (const std::string& r : in.recipients) h->add_recipients(r);
  h->set_case_ref(in.case_ref);
  for (const std::string& b : in.legal_basis) h->add_legal_basis(b);
  for (liaison::v1::Purpose p : in.purposes) h->add_purposes(p);
  h->set_urgency(in.urgency);
  h->set_access_kind(in.access_kind);
  h->set_sender_officer(in.sender_officer);
  *h->mutable_retention()->mutable_review_by() = ToProto(in.review_by);
  *h->mutable_retention()->mutable_erase_by() = ToProto(in.erase_by);
  return absl::OkStatus();
}

// "HMAC-SHA256/epoch-N" with N >= 1.
bool IsScheme(absl::string_view scheme) {
  uint32_t epoch = 0;
  return absl::ConsumePrefix(&scheme, "HMAC-SHA256/epoch-") && !scheme.empty() &&
         scheme[0] != '0' && absl::SimpleAtoi(scheme, &epoch) && epoch >= 1;
}

}  // namespace

bool IsCaseHandle(absl::string_view text) {
  return absl::ConsumePrefix(&text, "LNK-") && IsCode(text, 64, "-", /*upper=*/false);
}

absl::StatusOr<Message> MakeLinkageQuery(const LinkageHeader& header,
                                         absl::string_view offence_code,
                                         std::vector<liaison::v1::BlindedIdentifier> identifiers) {
  if (header.recipients.empty()) {
    return Invalid("header.recipients", "name the endpoints whose index entries to search");
  }
  if (header.case_ref.empty()) return Invalid("linkage_query.case_ref", "missing");
  if (!IsCode(offence_code, 32, "-_/", /*upper=*/true)) {
    return Invalid("linkage_query.offence_code", "must be 1 to 32 of A-Z 0-9 - _ / (e.g. THB)");
  }
  if (identifiers.empty()) return Invalid("linkage_query.identifiers", "none");
  if (identifiers.size() > static_cast<size_t>(kMaxQueryIdentifiers)) {
    return Invalid("linkage_query.identifiers",
                   absl::StrCat(identifiers.size(), " identifiers; a query carries at most ",
                                kMaxQueryIdentifiers, " (DP-LINK-01)"));
  }
  std::set<std::pair<int, std::string>> seen;
  for (size_t i = 0; i < identifiers.size(); ++i) {
    const liaison::v1::BlindedIdentifier& id = identifiers[i];
    const std::string path = absl::StrCat("linkage_query.identifiers[", i, "]");
    if (id.type() == liaison::v1::IDENTIFIER_TYPE_UNSPECIFIED ||
        !liaison::v1::IdentifierType_IsValid(id.type())) {
      return Invalid(path + ".type", absl::StrCat("unknown identifier type ", id.type()));
    }
    if (id.type() == liaison::v1::IDENTIFIER_TYPE_PERSON_NAME) {
      return Invalid(path + ".type",
                     "a name alone is never searched (DP-LINK-01); use NAME_DOB, blinded");
    }
    if (!IsScheme(id.scheme())) {
      return Invalid(path + ".scheme", "must be HMAC-SHA256/epoch-N");
    }
    if (id.value().size() != 32) {
      return Invalid(path + ".value",
                     absl::StrCat(id.value().size(), " bytes; a blinded value is 32 bytes"));
    }
    if (!seen.emplace(id.type(), id.value()).second) {
      return Invalid(path, "the same identifier twice");
    }
  }
  Message m;
  if (absl::Status s = FillHeader(header, liaison::v1::KIND_LINKAGE_QUERY, m); !s.ok()) return s;
  liaison::v1::LinkageQuery* q = m.mutable_linkage_query();
  q->set_case_ref(header.case_ref);
  q->set_offence_code(std::string(offence_code));
  for (liaison::v1::BlindedIdentifier& id : identifiers) *q->add_identifiers() = std::move(id);
  return m;
}

absl::StatusOr<Message> MakeFollowUpRequest(const LinkageHeader& header,
                                            liaison::v1::FollowUpRequest body) {
  if (body.owner().empty()) return Invalid("followup_request.owner", "missing");
  if (!(header.recipients.empty() ||
        (header.recipients.size() == 1 && header.recipients[0] == body.owner()))) {
    return Invalid("header.recipients", "a follow-up goes to the owner only");
  }
  if (!IsCaseHandle(body.owner_ref())) {
    return Invalid("followup_request.owner_ref",
                   "must be the owner's case handle from the reply: \"LNK-\" followed by 1 to 64 "
                   "of A-Z a-z 0-9 -");
  }
  if (!IsUuidV7(body.query_id())) {
    return Invalid("followup_request.query_id",
                   "must be the message id of the query (a lower-case UUIDv7)");
  }
  if (body.justification_id().empty()) {
    return Invalid("followup_request.justification_id",
                   "missing (the reference of the necessity justification kept on your side)");
  }
  LinkageHeader h = header;
  h.recipients = {body.owner()};
  if (h.purposes.empty()) {
    for (int p : body.purposes()) h.purposes.push_back(static_cast<liaison::v1::Purpose>(p));
  }
  if (body.purposes().empty()) {
    for (liaison::v1::Purpose p : h.purposes) body.add_purposes(p);
  }
  Message m;
  if (absl::Status s = FillHeader(h, liaison::v1::KIND_FOLLOWUP_REQUEST, m); !s.ok()) return s;
  *m.mutable_followup_request() = std::move(body);
  return m;
}

absl::StatusOr<Message> MakeFollowUpDecision(const LinkageHeader& header,
                                             liaison::v1::FollowUpDecision body) {
  if (header.recipients.size() != 1) {
    return Invalid("header.recipients",
                   "a decision goes to the requester only (exactly one recipient)");
  }
  if (!IsUuidV7(body.followup_id())) {
    return Invalid("followup_decision.followup_id",
                   "must be the message id of the follow-up request (a lower-case UUIDv7)");
  }
  if (body.approve()) {
    if (!IsUuidV7(body.details_message_id())) {
      return Invalid("followup_decision.details_message_id",
                     "an approval names the message id the details will be sent under (a "
                     "lower-case UUIDv7)");
    }
    if (!body.reason_code().empty()) {
      return Invalid("followup_decision.reason_code", "only a refusal gives a reason");
    }
  } else {
    if (!IsCode(body.reason_code(), 64, "_-", /*upper=*/true)) {
      return Invalid("followup_decision.reason_code",
                     "a refusal gives a reason code: 1 to 64 of A-Z 0-9 _ - (e.g. "
                     "ONGOING_OPERATION)");
    }
    if (!body.details_message_id().empty()) {
      return Invalid("followup_decision.details_message_id", "only an approval names one");
    }
  }
  Message m;
  if (absl::Status s = FillHeader(header, liaison::v1::KIND_FOLLOWUP_DECISION, m); !s.ok()) {
    return s;
  }
  m.mutable_header()->set_in_reply_to(body.followup_id());
  *m.mutable_followup_decision() = std::move(body);
  return m;
}

absl::StatusOr<std::optional<liaison::v1::LinkageReply>> LinkageReplyTo(
    const VerifiedItem& item, const liaison::v1::SignedEnvelope& query) {
  if (item.kind() != VerifiedItem::Kind::kDelivery || !item.message().has_value() ||
      item.message()->header().kind() != liaison::v1::KIND_LINKAGE_REPLY) {
    return std::nullopt;
  }
  Message sent;
  if (!sent.ParseFromString(query.message())) {
    return absl::InvalidArgumentError("query: not a liaison.v1.Message");
  }
  const liaison::v1::LinkageReply& reply = item.message()->linkage_reply();
  if (reply.query_id() != sent.header().message_id()) return std::nullopt;
  if (!item.broker_authored()) {
    return absl::PermissionDeniedError(absl::StrCat(
        "item ", item.item_id(), ": a LINKAGE_REPLY from ", item.message()->header().sender(),
        ", not written by the broker from the index; not an answer to the query"));
  }
  if (item.statement().attestation().original_sha256() != certs::Sha256(query.message())) {
    return absl::InvalidArgumentError(
        absl::StrCat("item ", item.item_id(),
                     ": attestation.original_sha256 is not the SHA-256 of the query as signed"));
  }
  const int count = sent.linkage_query().identifiers_size();
  for (int i = 0; i < reply.hits_size(); ++i) {
    const liaison::v1::LinkageHit& h = reply.hits(i);
    const std::string path = absl::StrCat("item ", item.item_id(), ": linkage_reply.hits[", i, "]");
    if (h.identifier_index() < 0 || h.identifier_index() >= count) {
      return absl::InvalidArgumentError(absl::StrCat(path,
                                                     ".identifier_index: ", h.identifier_index(),
                                                     ", the query has ", count, " identifiers"));
    }
    if (h.hit() && (h.owner().empty() || !IsCaseHandle(h.owner_ref()))) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": a hit without an owner or an LNK- owner_ref"));
    }
    if (!h.hit() && (!h.owner().empty() || !h.owner_ref().empty())) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": a no-hit naming an owner"));
    }
  }
  return reply;
}

}  // namespace liaison::endpoint

#include "broker/frontdoor/validate.h"

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "base/proto_time.h"
#include "base/safe_text.h"
#include "base/uuid.h"

namespace liaison::broker {
namespace {

using liaison::v1::Kind;
using liaison::v1::Message;

// The body field each kind requires.
Message::BodyCase BodyFor(Kind kind) {
  switch (kind) {
    case liaison::v1::KIND_ALERT:
      return Message::kAlert;
    case liaison::v1::KIND_INFO_EXCHANGE:
      return Message::kInfo;
    case liaison::v1::KIND_LINKAGE_QUERY:
      return Message::kLinkageQuery;
    case liaison::v1::KIND_LINKAGE_REPLY:
      return Message::kLinkageReply;
    case liaison::v1::KIND_FOLLOWUP_REQUEST:
      return Message::kFollowupRequest;
    case liaison::v1::KIND_FOLLOWUP_DECISION:
      return Message::kFollowupDecision;
    case liaison::v1::KIND_EVIDENCE_MANIFEST:
      return Message::kEvidenceManifest;
    case liaison::v1::KIND_CORRECTION:
      return Message::kCorrection;
    case liaison::v1::KIND_CONSENT:
      return Message::kConsent;
    default:
      return Message::BODY_NOT_SET;
  }
}

std::string BodyName(Message::BodyCase body) {
  if (body == Message::BODY_NOT_SET) return "none";
  const auto* field = Message::descriptor()->FindFieldByNumber(static_cast<int>(body));
  return field == nullptr ? "unknown" : field->name();
}

absl::Status Invalid(absl::string_view path, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", problem));
}

}  // namespace

absl::Status ValidateForIngress(const Message& message, const policy::Registry& registry,
                                absl::Time now, const ValidationLimits& limits) {
  if (!message.has_header()) return Invalid("header", "missing");
  const liaison::v1::Header& h = message.header();
  if (h.message_id().empty()) return Invalid("header.message_id", "missing");
  if (!IsUuidV7(h.message_id())) {
    return Invalid("header.message_id", "must be a lower-case UUIDv7");
  }
  if (h.kind() == liaison::v1::KIND_UNSPECIFIED) return Invalid("header.kind", "missing");
  if (!liaison::v1::Kind_IsValid(h.kind())) {
    return Invalid("header.kind", absl::StrCat("unknown value ", static_cast<int>(h.kind())));
  }
  if (h.kind() == liaison::v1::KIND_NOTICE) {
    return Invalid("header.kind", "KIND_NOTICE is issued by the broker only");
  }
  const Message::BodyCase want = BodyFor(h.kind());
  if (message.body_case() != want) {
    return Invalid("body",
                   absl::StrCat(liaison::v1::Kind_Name(h.kind()), " needs the '", BodyName(want),
                                "' body, found '", BodyName(message.body_case()), "'"));
  }
  if (!h.has_created_at()) return Invalid("header.created_at", "missing");
  const absl::Time created = FromProto(h.created_at());
  if (created > now + limits.max_clock_skew) {
    return Invalid(
        "header.created_at",
        absl::StrCat("lies ", absl::FormatDuration(absl::Trunc(created - now, absl::Seconds(1))),
                     " in the future (allowed clock skew ",
                     absl::FormatDuration(limits.max_clock_skew), ")"));
  }
  // Replays: beyond the deduplication window a resent message could not be
  // recognised, so nothing that old is accepted, by its creation time or by
  // the time its id was minted.
  if (created < now - limits.max_age) {
    return Invalid("header.created_at",
                   absl::StrCat("is older than the deduplication window (",
                                absl::FormatDuration(limits.max_age),
                                "); send the content again as a new message with a new id"));
  }
  const absl::Time minted = UuidV7Time(h.message_id());
  if (minted < now - limits.max_age || minted > now + limits.max_clock_skew) {
    return Invalid("header.message_id",
                   absl::StrCat("its UUIDv7 time lies outside the deduplication window (",
                                absl::FormatDuration(limits.max_age), " back, clock skew ",
                                absl::FormatDuration(limits.max_clock_skew),
                                " ahead): mint a new id when sending"));
  }
  if (h.sender().empty()) return Invalid("header.sender", "missing");
  // A consent may be addressed to nobody but the broker (e.g. a sender's own
  // supervisor approving a held message): it is recorded, not delivered.
  if (h.recipients().empty() && h.kind() != liaison::v1::KIND_CONSENT) {
    return Invalid("header.recipients", "at least one recipient is required");
  }
  if (h.recipients_size() > limits.max_recipients) {
    return Invalid(
        "header.recipients",
        absl::StrCat(h.recipients_size(), " recipients; the limit is ", limits.max_recipients));
  }
  absl::flat_hash_map<std::string_view, int> seen;
  for (int i = 0; i < h.recipients_size(); ++i) {
    const std::string& r = h.recipients(i);
    const std::string path = absl::StrCat("header.recipients[", i, "]");
    if (r == h.sender()) return Invalid(path, "the sender cannot address itself");
    if (registry.FindEndpoint(r) == nullptr) {
      return Invalid(path, absl::StrCat("unknown endpoint '", SafeText(r), "'"));
    }
    auto [it, inserted] = seen.emplace(r, i);
    if (!inserted)
      return Invalid(path, absl::StrCat("duplicate of header.recipients[", it->second, "]"));
  }
  for (int i = 0; i < h.purposes_size(); ++i) {
    if (!liaison::v1::Purpose_IsValid(h.purposes(i)) ||
        h.purposes(i) == liaison::v1::PURPOSE_UNSPECIFIED) {
      return Invalid(absl::StrCat("header.purposes[", i, "]"),
                     absl::StrCat("unknown value ", static_cast<int>(h.purposes(i))));
    }
  }
  return absl::OkStatus();
}

}  // namespace liaison::broker

#include "broker/core/ids.h"

#include "absl/strings/str_cat.h"
#include "certs/signature.h"

namespace liaison::broker {
namespace {

std::string ShortHash(absl::string_view prefix, absl::string_view a, absl::string_view b,
                      absl::string_view c = {}, absl::string_view d = {}) {
  // Unambiguous: every part is length-prefixed.
  std::string input = absl::StrCat(prefix, "|", a.size(), ":", a, "|", b.size(), ":", b, "|",
                                   c.size(), ":", c, "|", d.size(), ":", d);
  return absl::StrCat(prefix, "-", certs::HexEncode(certs::Sha256(input).substr(0, 16)));
}

}  // namespace

IngressKey IngressKeyOf(const liaison::v1::Header& header) {
  if (header.case_ref().empty()) return IngressKey(header.message_id());
  const std::string digest =
      certs::Sha256(absl::StrCat("case\n", header.sender(), "\n", header.case_ref()));
  return IngressKey(certs::HexEncode(digest.substr(0, 12)));
}

DeliveryItemId DeliveryItemIdOf(const MessageId& message, const EndpointId& recipient) {
  return DeliveryItemId(ShortHash("d", message.value(), recipient.value()));
}

ReceiptItemId ReceiptItemIdOf(const MessageId& message, const EndpointId& recipient) {
  return ReceiptItemId(ShortHash("r", message.value(), recipient.value()));
}

NoticeItemId NoticeItemIdOf(liaison::v1::NoticeKind kind, const MessageId& message,
                            const EndpointId& recipient, const EndpointId& addressee) {
  return NoticeItemId(ShortHash("n", liaison::v1::NoticeKind_Name(kind), message.value(),
                                recipient.value(), addressee.value()));
}

NoticeItemId LinkageHitItemIdOf(const MessageId& query, const EndpointId& owner,
                                absl::string_view owner_ref) {
  return NoticeItemId(ShortHash("n", "NOTICE_KIND_LINKAGE_HIT", query.value(),
                                absl::StrCat(owner_ref.size(), ":", owner_ref), owner.value()));
}

MessageId LinkageReplyIdOf(const MessageId& query, const std::vector<std::string>& searched) {
  std::string owners;
  for (const std::string& s : searched) absl::StrAppend(&owners, s.size(), ":", s, "|");
  return MessageId(ShortHash("lr", query.value(), owners));
}

std::string GroupItemIdOf(const std::vector<std::string>& item_ids) {
  std::string ids;
  for (const std::string& id : item_ids) absl::StrAppend(&ids, id.size(), ":", id, "|");
  return ShortHash("g", ids, "");
}

// Kept as it always was (not ShortHash): hold ids are stored in
// liaison.holds, so changing the derivation would orphan existing holds.
HoldId HoldIdOf(const MessageId& message, const EndpointId& recipient) {
  return HoldId(absl::StrCat(
      "h-",
      certs::HexEncode(
          certs::Sha256(absl::StrCat(message.value(), "\n", recipient.value())).substr(0, 16))));
}

}  // namespace liaison::broker

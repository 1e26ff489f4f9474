// The one place ids are derived: deterministic, prefixed, unambiguous over
// their parts, and each kind its own type.
#include "broker/core/ids.h"

#include <set>
#include <string>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "certs/signature.h"
#include "gtest/gtest.h"

namespace liaison::broker {
namespace {

const MessageId kMessage("0190c7a1-7b9e-7c3d-8f00-0123456789ab");
const EndpointId kRecipient("FR-OCRTEH");
const EndpointId kSender("DE-BKA");

bool IsHex(const std::string& s) {
  return s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

// The construction written down in ids.h, computed here independently:
// prefix + "-" + 32 hex of SHA-256 over length-prefixed parts.
std::string Expected(const std::string& prefix, const std::string& a, const std::string& b,
                     const std::string& c = "", const std::string& d = "") {
  const std::string input = absl::StrCat(prefix, "|", a.size(), ":", a, "|", b.size(), ":", b, "|",
                                         c.size(), ":", c, "|", d.size(), ":", d);
  return prefix + "-" + certs::HexEncode(certs::Sha256(input).substr(0, 16));
}

TEST(Ids, ItemIdsArePrefixedHashesOfTheirParts) {
  const DeliveryItemId d = DeliveryItemIdOf(kMessage, kRecipient);
  const ReceiptItemId r = ReceiptItemIdOf(kMessage, kRecipient);
  const NoticeItemId n =
      NoticeItemIdOf(liaison::v1::NOTICE_KIND_NON_DELIVERY, kMessage, kRecipient, kSender);
  const HoldId h = HoldIdOf(kMessage, kRecipient);
  for (const auto& [id, prefix] : {std::pair{d.value(), "d-"}, std::pair{r.value(), "r-"},
                                   std::pair{n.value(), "n-"}, std::pair{h.value(), "h-"}}) {
    EXPECT_EQ(id.substr(0, 2), prefix) << id;
    EXPECT_EQ(id.size(), 34u) << id;
    EXPECT_TRUE(IsHex(id.substr(2))) << id;
  }
  EXPECT_EQ(d.value(), Expected("d", kMessage.value(), kRecipient.value()));
  EXPECT_EQ(r.value(), Expected("r", kMessage.value(), kRecipient.value()));
  EXPECT_EQ(n.value(), Expected("n", "NOTICE_KIND_NON_DELIVERY", kMessage.value(),
                                kRecipient.value(), kSender.value()));
  // Hold ids keep their original derivation (they are stored in liaison.holds).
  EXPECT_EQ(h.value(), "h-" + certs::HexEncode(certs::Sha256(absl::StrCat(kMessage.value(), "\n",
                                                                          kRecipient.value()))
                                                   .substr(0, 16)));
}

TEST(Ids, AreDeterministicAndDifferByKindAndPart) {
  EXPECT_EQ(DeliveryItemIdOf(kMessage, kRecipient), DeliveryItemIdOf(kMessage, kRecipient));
  EXPECT_EQ(HoldIdOf(kMessage, kRecipient), HoldIdOf(kMessage, kRecipient));
  std::set<std::string> ids = {
      DeliveryItemIdOf(kMessage, kRecipient).value(),
      DeliveryItemIdOf(kMessage, kSender).value(),
      DeliveryItemIdOf(MessageId("0190c7a1-7b9e-7c3d-8f00-0123456789ac"), kRecipient).value(),
      ReceiptItemIdOf(kMessage, kRecipient).value(),
      NoticeItemIdOf(liaison::v1::NOTICE_KIND_NON_DELIVERY, kMessage, kRecipient, kSender).value(),
      NoticeItemIdOf(liaison::v1::NOTICE_KIND_HELD, kMessage, kRecipient, kSender).value(),
      NoticeItemIdOf(liaison::v1::NOTICE_KIND_NON_DELIVERY, kMessage, kRecipient, kRecipient)
          .value(),
      HoldIdOf(kMessage, kRecipient).value(),
  };
  EXPECT_EQ(ids.size(), 8u);
}

// Length prefixes keep parts apart: ("ab", "c") and ("a", "bc") concatenate
// to the same bytes but are different items.
TEST(Ids, LengthPrefixesMakeThePartsUnambiguous) {
  EXPECT_NE(DeliveryItemIdOf(MessageId("ab"), EndpointId("c")),
            DeliveryItemIdOf(MessageId("a"), EndpointId("bc")));
  EXPECT_NE(ReceiptItemIdOf(MessageId("ab"), EndpointId("c")),
            ReceiptItemIdOf(MessageId("a"), EndpointId("bc")));
  EXPECT_NE(NoticeItemIdOf(liaison::v1::NOTICE_KIND_LOST, MessageId("m"), EndpointId("ab"),
                           EndpointId("c")),
            NoticeItemIdOf(liaison::v1::NOTICE_KIND_LOST, MessageId("m"), EndpointId("a"),
                           EndpointId("bc")));
  // A separator inside a part cannot forge another split either.
  EXPECT_NE(DeliveryItemIdOf(MessageId("a|1:b"), EndpointId("")),
            DeliveryItemIdOf(MessageId("a"), EndpointId("b")));
  EXPECT_NE(HoldIdOf(MessageId("ab"), EndpointId("c")), HoldIdOf(MessageId("a"), EndpointId("bc")));
}

TEST(Ids, TheIngressKeyKeepsACaseTogetherWithoutItsReference) {
  liaison::v1::Header h;
  h.set_message_id(kMessage.value());
  h.set_sender("DE-BKA");
  EXPECT_EQ(IngressKeyOf(h).value(), kMessage.value());  // no case: the message id
  h.set_case_ref("CASE-2026-0042");
  const IngressKey key = IngressKeyOf(h);
  EXPECT_EQ(key.value().size(), 24u);
  EXPECT_TRUE(IsHex(key.value()));
  EXPECT_EQ(key.value().find("CASE"), std::string::npos);
  liaison::v1::Header next = h;
  next.set_message_id("0190c7a1-7b9e-7c3d-8f00-0123456789ff");
  EXPECT_EQ(IngressKeyOf(next), key) << "two messages of one case went apart";
  liaison::v1::Header other_sender = h;
  other_sender.set_sender("FR-OCRTEH");
  EXPECT_NE(IngressKeyOf(other_sender), key) << "one sender's case reference met another's";
}

// Each kind of id is its own type: passing one where another is expected
// does not compile.
TEST(Ids, EachKindIsItsOwnType) {
  static_assert(!std::is_convertible_v<MessageId, EndpointId>);
  static_assert(!std::is_convertible_v<std::string, MessageId>);
  static_assert(!std::is_constructible_v<DeliveryItemId, MessageId>);
  static_assert(!std::is_constructible_v<HoldId, DeliveryItemId>);
  static_assert(!std::is_same_v<DeliveryItemId, ReceiptItemId>);
  static_assert(!std::is_same_v<NoticeItemId, AckItemId>);
  static_assert(!std::is_invocable_v<decltype(&DeliveryItemIdOf), EndpointId, MessageId>);
  // What an endpoint acknowledges is any item id, converted explicitly.
  const DeliveryItemId d = DeliveryItemIdOf(kMessage, kRecipient);
  EXPECT_EQ(AsAckItem(d).value(), d.value());
  EXPECT_TRUE(MessageId().empty());
}

}  // namespace
}  // namespace liaison::broker

#include "broker/countersigner.h"

#include "absl/strings/str_cat.h"
#include "base/proto_time.h"

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

Countersigner::Countersigner(const certs::Signer* signer)
    : signer_(signer),
      broker_id_(signer->certificate().common_name()),
      certificate_der_(signer->certificate().der()) {}

absl::StatusOr<liaison::v1::BrokerSigned> Countersigner::Sign(liaison::v1::Statement statement,
                                                              absl::Time issued_at) const {
  *statement.mutable_issued_at() = ToProto(issued_at);
  statement.set_broker_id(broker_id_);
  liaison::v1::BrokerSigned signed_statement;
  std::string* bytes = signed_statement.mutable_statement();
  if (!statement.SerializeToString(bytes)) {
    return absl::InternalError("statement: serialisation failed");
  }
  absl::StatusOr<std::string> signature = signer_->Sign(*bytes);
  if (!signature.ok()) return signature.status();
  signed_statement.set_signature(std::move(*signature));
  signed_statement.set_broker_certificate(certificate_der_);
  return signed_statement;
}

std::string DeliveryItemId(absl::string_view message_id, absl::string_view recipient) {
  return ShortHash("d", message_id, recipient);
}

std::string ReceiptItemId(absl::string_view message_id, absl::string_view recipient) {
  return ShortHash("r", message_id, recipient);
}

std::string NoticeItemId(liaison::v1::NoticeKind kind, absl::string_view message_id,
                         absl::string_view recipient, absl::string_view addressee) {
  return ShortHash("n", liaison::v1::NoticeKind_Name(kind), message_id, recipient, addressee);
}

}  // namespace liaison::broker

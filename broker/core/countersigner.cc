#include "broker/core/countersigner.h"

#include "absl/strings/str_cat.h"
#include "base/proto_time.h"
#include "certs/batch_root.h"
#include "certs/merkle.h"

namespace liaison::broker {
namespace {

constexpr absl::string_view kEventContext = "liaison.v1.IngressEvent\n";

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

absl::StatusOr<std::string> Countersigner::Leaf(liaison::v1::Statement statement,
                                                absl::Time issued_at) const {
  *statement.mutable_issued_at() = ToProto(issued_at);
  statement.set_broker_id(broker_id_);
  std::string bytes;
  if (!statement.SerializeToString(&bytes)) {
    return absl::InternalError("statement: serialisation failed");
  }
  return bytes;
}

absl::StatusOr<std::vector<liaison::v1::BatchSigned>> Countersigner::SignLeaves(
    const std::vector<std::string>& leaves, absl::Time issued_at) const {
  if (leaves.empty()) return absl::InvalidArgumentError("batch: no statements to sign");
  std::vector<std::string> hashes;
  hashes.reserve(leaves.size());
  for (const std::string& leaf : leaves) hashes.push_back(certs::MerkleLeafHash(leaf));
  const certs::MerkleTree tree(std::move(hashes));
  liaison::v1::Statement root_statement;
  root_statement.mutable_batch_root()->set_tree_size(tree.size());
  root_statement.mutable_batch_root()->set_root_hash(tree.root());
  *root_statement.mutable_issued_at() = ToProto(issued_at);
  root_statement.set_broker_id(broker_id_);
  liaison::v1::BrokerSigned root;
  if (!root_statement.SerializeToString(root.mutable_statement())) {
    return absl::InternalError("batch root: serialisation failed");
  }
  absl::StatusOr<std::string> signature =
      signer_->Sign(certs::BatchRootSignedBytes(root.statement()));
  if (!signature.ok()) return signature.status();
  root.set_signature(std::move(*signature));
  root.set_broker_certificate(certificate_der_);
  std::vector<liaison::v1::BatchSigned> out;
  out.reserve(leaves.size());
  for (size_t i = 0; i < leaves.size(); ++i) {
    absl::StatusOr<std::vector<std::string>> path = tree.AuditPath(i);
    if (!path.ok()) return path.status();  // impossible: i < size
    liaison::v1::BatchSigned& b = out.emplace_back();
    b.set_statement(leaves[i]);
    *b.mutable_root() = root;
    *b.mutable_inclusion() = certs::ToProto(certs::InclusionProof{i, tree.size(), *path});
  }
  return out;
}

absl::StatusOr<liaison::v1::SignedIngressEvent> Countersigner::SignEvent(
    liaison::v1::IngressEvent event, absl::Time observed_at) const {
  event.set_node_id(broker_id_);
  *event.mutable_observed_at() = ToProto(observed_at);
  liaison::v1::SignedIngressEvent out;
  if (!event.SerializeToString(out.mutable_event())) {
    return absl::InternalError("ingress event: serialisation failed");
  }
  absl::StatusOr<std::string> signature = signer_->Sign(absl::StrCat(kEventContext, out.event()));
  if (!signature.ok()) return signature.status();
  out.set_signature(std::move(*signature));
  out.set_broker_certificate(certificate_der_);
  return out;
}

absl::StatusOr<VerifiedEvent> VerifyEvent(const liaison::v1::SignedIngressEvent& signed_event,
                                          const certs::Verifier& verifier, absl::Time now) {
  if (signed_event.event().empty()) return absl::InvalidArgumentError("event: missing");
  if (signed_event.signature().empty()) return absl::InvalidArgumentError("signature: missing");
  if (signed_event.broker_certificate().empty()) {
    return absl::InvalidArgumentError("broker_certificate: missing");
  }
  absl::StatusOr<certs::Identity> signer =
      verifier.Verify(absl::StrCat(kEventContext, signed_event.event()), signed_event.signature(),
                      signed_event.broker_certificate(), certs::Role::kBroker, now);
  if (!signer.ok()) return signer.status();
  VerifiedEvent out;
  out.signer = std::move(*signer);
  if (!out.event.ParseFromString(signed_event.event()) ||
      out.event.kind_case() == liaison::v1::IngressEvent::KIND_NOT_SET) {
    return absl::InvalidArgumentError("event: not an IngressEvent with one event kind");
  }
  if (out.event.node_id() != out.signer.id) {
    return absl::PermissionDeniedError("event: node_id is not the signing broker");
  }
  if (out.event.has_notice() && out.event.notice().kind() != liaison::v1::NOTICE_KIND_GAP &&
      out.event.notice().kind() != liaison::v1::NOTICE_KIND_LOST) {
    return absl::PermissionDeniedError(
        absl::StrCat("event: the delivery side raises GAP and LOST notices only, not ",
                     liaison::v1::NoticeKind_Name(out.event.notice().kind())));
  }
  return out;
}

}  // namespace liaison::broker

#include "certs/batch_root.h"

#include "absl/strings/str_cat.h"
#include "base/proto_time.h"
#include "certs/merkle.h"

namespace liaison::certs {

std::string BatchRootSignedBytes(std::string_view statement) {
  std::string out;
  out.reserve(kBatchRootContext.size() + statement.size());
  out.append(kBatchRootContext);
  out.append(statement);
  return out;
}

absl::StatusOr<VerifiedBatchRoot> VerifyBatchRoot(const liaison::v1::BrokerSigned& root,
                                                  const Verifier& verifier, absl::Time now) {
  if (root.statement().empty()) return absl::InvalidArgumentError("batch root: statement missing");
  if (root.signature().empty()) return absl::InvalidArgumentError("batch root: signature missing");
  if (root.broker_certificate().empty()) {
    return absl::InvalidArgumentError("batch root: broker_certificate missing");
  }
  absl::StatusOr<Identity> broker =
      verifier.Verify(BatchRootSignedBytes(root.statement()), root.signature(),
                      root.broker_certificate(), Role::kBroker, now);
  if (!broker.ok()) {
    return absl::Status(broker.status().code(),
                        absl::StrCat("batch root: ", broker.status().message()));
  }
  liaison::v1::Statement statement;
  if (!statement.ParseFromString(root.statement()) || !statement.has_batch_root()) {
    return absl::InvalidArgumentError("batch root: not a Statement of kind batch_root");
  }
  if (statement.broker_id() != broker->id) {
    return absl::PermissionDeniedError(
        absl::StrCat("batch root: broker_id '", statement.broker_id(),
                     "' is not the signing broker (", broker->id, ")"));
  }
  const liaison::v1::BatchRoot& r = statement.batch_root();
  if (r.tree_size() == 0) return absl::InvalidArgumentError("batch root: tree_size is 0");
  if (r.root_hash().size() != kMerkleHashSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("batch root: root_hash is ", r.root_hash().size(), " bytes, not 32"));
  }
  VerifiedBatchRoot out;
  out.broker = std::move(*broker);
  out.tree_size = r.tree_size();
  out.root_hash = r.root_hash();
  out.issued_at = FromProto(statement.issued_at());
  return out;
}

}  // namespace liaison::certs

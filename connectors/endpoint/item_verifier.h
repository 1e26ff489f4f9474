// Recipient-side verification of what the broker streams: the broker's
// countersignature first, then the content, then (for unchanged content) the
// sender's own signature. Works online (Subscribe) and offline (a saved item).
#ifndef LIAISON_CONNECTORS_ENDPOINT_ITEM_VERIFIER_H_
#define LIAISON_CONNECTORS_ENDPOINT_ITEM_VERIFIER_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "certs/batch_root.h"
#include "certs/signature.h"
#include "certs/trust_store.h"
#include "liaison/v1/envelope.pb.h"
#include "liaison/v1/message.pb.h"

namespace liaison::endpoint {

class ItemVerifier;

// An item that passed ItemVerifier::Verify: the broker's countersignature
// verified with a valid broker certificate, the item is addressed to the
// verifying endpoint and, for a delivery, the content matches the
// attestation (and, unchanged, carries the attested sender's valid
// signature). Only ItemVerifier makes one, so code holding a VerifiedItem
// knows all of that held; copies are as trustworthy as the original.
class VerifiedItem {
 public:
  enum class Kind { kDelivery, kReceipt, kNotice };

  VerifiedItem(const VerifiedItem&) = default;
  VerifiedItem& operator=(const VerifiedItem&) = default;
  VerifiedItem(VerifiedItem&&) = default;
  VerifiedItem& operator=(VerifiedItem&&) = default;

  Kind kind() const { return kind_; }
  const std::string& item_id() const { return item_id_; }
  // The broker node that signed the statement.
  const certs::Identity& broker() const { return broker_; }
  const liaison::v1::Statement& statement() const { return statement_; }
  // Deliveries only: the message as delivered.
  const std::optional<liaison::v1::Message>& message() const { return message_; }
  // Deliveries only: true when the broker derived (redacted) the content, so
  // only the broker's attestation covers it; false when the sender's own
  // signature was verified too.
  bool derived() const { return derived_; }
  // Deliveries with original content: the sender's signing identity.
  const std::optional<certs::Identity>& sender() const { return sender_; }
  // Deliveries only: the broker wrote the message itself (a KIND_LINKAGE_REPLY
  // answered from the linkage index); its sender is broker().id.
  bool broker_authored() const { return broker_authored_; }

 private:
  friend class ItemVerifier;
  VerifiedItem() = default;

  Kind kind_ = Kind::kNotice;
  std::string item_id_;
  certs::Identity broker_;
  liaison::v1::Statement statement_;
  std::optional<liaison::v1::Message> message_;
  bool derived_ = false;
  std::optional<certs::Identity> sender_;
  bool broker_authored_ = false;
};

// Thread-safe.
class ItemVerifier {
 public:
  // `self` is the endpoint id the items must be addressed to.
  ItemVerifier(std::shared_ptr<const certs::TrustStore> trust, std::string self);

  // Replaces the trust store (a new CRL). FailedPrecondition when its CRL
  // number is lower than the one in force: an older CRL would un-revoke
  // certificates.
  absl::Status SetTrustStore(std::shared_ptr<const certs::TrustStore> trust) const;
  // Re-reads `crl_path` (with the network CA `ca_pem`) when the file changed
  // since the last look, at most every `every`; Verify() calls it, so a
  // long-running subscriber follows CRL updates. Errors are returned, and
  // the CRL in force stays.
  void FollowCrlFile(std::string ca_pem, std::string crl_path,
                     absl::Duration every = absl::Seconds(10));
  absl::Status MaybeReloadCrl(absl::Time now) const;

  // Checks, in order: the statement's signature verifies with a valid broker
  // certificate; for a batch-signed item (item.batched) that is the batch
  // root's signature (certs::VerifyBatchRoot, errors "batch root: ..."),
  // verified once and then taken from a cache of the last
  // kRootCacheSize roots, and the item's inclusion proof is strictly
  // parsed and leads from the statement's leaf hash to that root for the
  // root's tree size (errors "inclusion...": forged, truncated or extended
  // path, another batch's proof); the statement parses (and a batched one
  // names the root's broker); it is addressed to `self` (listed
  // recipient of an attestation, or addressee of a receipt/notice); for an
  // attestation: the item carries content whose SHA-256 equals
  // content_sha256; unchanged content is a valid envelope signed by the
  // attested sender with original_sha256 == content_sha256; the message id
  // matches. A broker-authored attestation (attestation.broker_authored)
  // must be of KIND_LINKAGE_REPLY, with derived content that is a
  // LINKAGE_REPLY, and name as its sender the broker whose certificate
  // signed the statement: no endpoint can author one, and no broker can
  // author one in another node's name. InvalidArgument / PermissionDenied
  // naming the failed check.
  absl::StatusOr<VerifiedItem> Verify(const liaison::v1::DeliveryItem& item, absl::Time now) const;

  static constexpr size_t kRootCacheSize = 1024;
  // Batch-root signatures verified so far (cache misses); for tests and the
  // benchmark's signature count.
  int64_t root_signatures_verified() const ABSL_LOCKS_EXCLUDED(roots_mu_);

 private:
  // The verified root, from the cache when these exact bytes verified
  // before under the trust store in force and the certificate is still
  // within its validity at `now`.
  absl::StatusOr<certs::VerifiedBatchRoot> VerifiedRoot(const liaison::v1::BrokerSigned& root,
                                                        absl::Time now) const
      ABSL_LOCKS_EXCLUDED(roots_mu_);

  mutable certs::Verifier verifier_;
  const std::string self_;
  std::string ca_pem_;
  std::string crl_path_;
  absl::Duration crl_every_ = absl::Seconds(10);
  mutable absl::Mutex crl_mu_;
  mutable absl::Time crl_checked_ ABSL_GUARDED_BY(crl_mu_) = absl::InfinitePast();
  mutable std::string crl_seen_ ABSL_GUARDED_BY(crl_mu_);  // the file's content hash
  mutable absl::Mutex roots_mu_;
  // Key: SHA-256 over the root's statement, signature and certificate.
  mutable std::unordered_map<std::string, certs::VerifiedBatchRoot> roots_
      ABSL_GUARDED_BY(roots_mu_);
  mutable std::deque<std::string> roots_order_ ABSL_GUARDED_BY(roots_mu_);  // oldest first
  mutable int64_t roots_verified_ ABSL_GUARDED_BY(roots_mu_) = 0;
};

}  // namespace liaison::endpoint

#endif  // LIAISON_CONNECTORS_ENDPOINT_ITEM_VERIFIER_H_

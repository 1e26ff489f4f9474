#include "broker/core/verified_envelopes.h"

namespace liaison::broker {

std::string VerifiedEnvelopes::DigestOf(const liaison::v1::SignedEnvelope& envelope) {
  return certs::Sha256(envelope.SerializeAsString());
}

void VerifiedEnvelopes::UseLocked(const std::shared_ptr<const certs::TrustStore>& trust) {
  if (trust_ == trust) return;
  digests_.clear();
  trust_ = trust;
}

bool VerifiedEnvelopes::Contains(const std::string& digest,
                                 const std::shared_ptr<const certs::TrustStore>& trust) {
  absl::MutexLock lock(&mu_);
  UseLocked(trust);
  const bool known = digests_.contains(digest);
  if (known) ++hits_;
  return known;
}

void VerifiedEnvelopes::Insert(std::string digest,
                               const std::shared_ptr<const certs::TrustStore>& trust) {
  absl::MutexLock lock(&mu_);
  UseLocked(trust);
  if (digests_.size() >= capacity_) digests_.clear();
  digests_.insert(std::move(digest));
}

}  // namespace liaison::broker

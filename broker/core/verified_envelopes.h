// Which sender envelopes this process has verified, by digest, under one
// trust store. The front door records each envelope it verified; the policy
// stage, which verifies every ingress record again (whoever can write
// liaison.ingress must not get anything countersigned), skips the signature
// check for a record whose exact envelope this process verified already
// under the trust store still in force. A record written by anyone else (a
// compromised front-door node, a misconfigured ACL) is never in it and is
// verified in full. So on a node running both, each message costs the
// broker one signature verification, not two.
//
// Swapping the trust store (a new CRL) forgets everything: an envelope
// verified under the previous one is verified again. Thread-safe.
#ifndef LIAISON_BROKER_CORE_VERIFIED_ENVELOPES_H_
#define LIAISON_BROKER_CORE_VERIFIED_ENVELOPES_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "certs/signature.h"
#include "liaison/v1/envelope.pb.h"

namespace liaison::broker {

class VerifiedEnvelopes {
 public:
  static constexpr size_t kDefaultCapacity = 65536;
  explicit VerifiedEnvelopes(size_t capacity = kDefaultCapacity) : capacity_(capacity) {}

  // SHA-256 over the envelope's serialised fields (message, signature,
  // certificate): the key.
  static std::string DigestOf(const liaison::v1::SignedEnvelope& envelope);

  // True when `digest` verified under `trust` (the verifier's store now).
  bool Contains(const std::string& digest, const std::shared_ptr<const certs::TrustStore>& trust)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Records that `digest` verified under `trust` (the store the check used).
  // When full, everything is forgotten (a verification again, never a
  // wrong answer).
  void Insert(std::string digest, const std::shared_ptr<const certs::TrustStore>& trust)
      ABSL_LOCKS_EXCLUDED(mu_);

  int64_t hits() const { return hits_.load(); }

 private:
  // Under mu_: the set belongs to `trust` from now on.
  void UseLocked(const std::shared_ptr<const certs::TrustStore>& trust)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const size_t capacity_;
  absl::Mutex mu_;
  absl::flat_hash_set<std::string> digests_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<const certs::TrustStore> trust_ ABSL_GUARDED_BY(mu_);
  std::atomic<int64_t> hits_{0};
};

}  // namespace liaison::broker

#endif  // LIAISON_BROKER_CORE_VERIFIED_ENVELOPES_H_

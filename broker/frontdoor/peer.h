// Who is on the other end of a gRPC call: the TLS client certificate,
// checked against the network CA, the CRL and the role the service needs.
// gRPC's TLS handshake already checked the chain; revocation and role are
// checked here so that the caller gets a precise status instead of a failed
// handshake.
#ifndef LIAISON_BROKER_FRONTDOOR_PEER_H_
#define LIAISON_BROKER_FRONTDOOR_PEER_H_

#include <atomic>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "certs/certificate.h"
#include "certs/trust_store.h"
#include "grpcpp/security/auth_metadata_processor.h"
#include "grpcpp/server_context.h"

namespace liaison::broker {

// What a stale CRL (past its nextUpdate) means for new connections.
enum class CrlExpiredPolicy { kRefuse, kWarn };

class PeerAuthenticator {
 public:
  explicit PeerAuthenticator(std::shared_ptr<const certs::TrustStore> trust);

  void SetTrustStore(std::shared_ptr<const certs::TrustStore> trust) ABSL_LOCKS_EXCLUDED(mu_);
  // kRefuse: past the CRL's nextUpdate, endpoint certificates (TLS) are
  // refused with Unauthenticated naming the stale CRL; operator
  // certificates still pass. kWarn: accepted (the broker logs the stale CRL).
  void SetCrlExpiredPolicy(CrlExpiredPolicy policy) { crl_expired_ = policy; }

  // Unauthenticated: no client certificate, or one that is revoked, expired
  // or not issued by the network CA. PermissionDenied: a valid certificate of
  // another role (an operator certificate on the Exchange service).
  // Validated certificates are cached by their PEM; revocation and expiry are
  // re-checked on every call. Thread-safe.
  absl::StatusOr<certs::Identity> Authenticate(const grpc::CallbackServerContext& context,
                                               certs::Role role) const ABSL_LOCKS_EXCLUDED(mu_);
  // The same checks for a client certificate another TLS server (the HTTP
  // dashboard) received and chain-verified; `pem` empty = no certificate.
  absl::StatusOr<certs::Identity> AuthenticatePem(const std::string& pem, certs::Role role) const
      ABSL_LOCKS_EXCLUDED(mu_);

 private:
  std::atomic<CrlExpiredPolicy> crl_expired_{CrlExpiredPolicy::kRefuse};
  mutable absl::Mutex mu_;
  std::shared_ptr<const certs::TrustStore> trust_ ABSL_GUARDED_BY(mu_);
  mutable absl::flat_hash_map<std::string, certs::Identity> cache_ ABSL_GUARDED_BY(mu_);
};

// Checks the TLS peer of every call in gRPC's auth filter, before gRPC hands
// the request to a service: a call without a valid certificate of the
// network CA (none, unreadable, revoked, expired, foreign, or the CRL is
// stale) ends UNAUTHENTICATED with PeerAuthenticator's message, no handler
// runs and no request message is parsed. (The client may already have sent
// bytes; HTTP/2 flow control bounds them.) Roles stay the services' check,
// so a valid certificate of another role still gets its precise
// PermissionDenied there. `peers` must outlive the server.
std::shared_ptr<grpc::AuthMetadataProcessor> PeerCheckBeforeRequest(const PeerAuthenticator* peers,
                                                                    certs::Role role);

// absl::Status -> grpc::Status (the canonical codes are numerically equal).
grpc::Status ToGrpc(const absl::Status& status);

}  // namespace liaison::broker

#endif  // LIAISON_BROKER_FRONTDOOR_PEER_H_

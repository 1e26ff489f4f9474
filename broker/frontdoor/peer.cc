#include "broker/frontdoor/peer.h"

#include "base/safe_text.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpcpp/security/auth_context.h"

namespace liaison::broker {

PeerAuthenticator::PeerAuthenticator(std::shared_ptr<const certs::TrustStore> trust)
    : trust_(std::move(trust)) {}

void PeerAuthenticator::SetTrustStore(std::shared_ptr<const certs::TrustStore> trust) {
  absl::MutexLock lock(&mu_);
  trust_ = std::move(trust);
  cache_.clear();
}

absl::StatusOr<certs::Identity> PeerAuthenticator::Authenticate(
    const grpc::CallbackServerContext& context, certs::Role role) const {
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  std::vector<grpc::string_ref> pems;
  if (auth != nullptr) pems = auth->FindPropertyValues("x509_pem_cert");
  if (pems.empty()) return AuthenticatePem("", role);
  return AuthenticatePem(std::string(pems.front().data(), pems.front().size()), role);
}

absl::StatusOr<certs::Identity> PeerAuthenticator::AuthenticatePem(const std::string& pem,
                                                                   certs::Role role) const {
  if (pem.empty()) {
    return absl::UnauthenticatedError(
        "no client certificate: connect with your TLS certificate issued by the network CA");
  }
  const absl::Time now = absl::Now();
  std::shared_ptr<const certs::TrustStore> trust;
  {
    absl::MutexLock lock(&mu_);
    trust = trust_;
  }
  if (role != certs::Role::kOperator && now >= trust->crl_next_update() &&
      crl_expired_.load() == CrlExpiredPolicy::kRefuse) {
    return absl::UnauthenticatedError(absl::StrCat(
        "the network CRL is stale (nextUpdate ",
        absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", trust->crl_next_update(), absl::UTCTimeZone()),
        "): new connections are refused until the operators load a current CRL"));
  }
  {
    absl::MutexLock lock(&mu_);
    auto it = cache_.find(pem);
    if (it != cache_.end() && it->second.role == role) {
      const certs::Identity& id = it->second;
      if (!trust->IsRevoked(id.serial_hex) && now < id.not_after) return id;
      cache_.erase(it);
    }
  }
  absl::StatusOr<certs::Certificate> cert = certs::Certificate::FromPem(pem);
  if (!cert.ok()) return absl::UnauthenticatedError("client certificate: unreadable");
  if (cert->organizational_unit() != certs::RoleName(role)) {
    return absl::PermissionDeniedError(
        absl::StrCat("client certificate CN=", SafeText(cert->common_name()), " has role '",
                     SafeText(cert->organizational_unit()), "'; this service needs '",
                     std::string(certs::RoleName(role)), "'"));
  }
  absl::StatusOr<certs::Identity> identity = trust->Validate(*cert, role, now);
  if (!identity.ok()) {
    return absl::UnauthenticatedError(absl::StrCat("client ", identity.status().message()));
  }
  absl::MutexLock lock(&mu_);
  if (cache_.size() > 4096) cache_.clear();
  cache_.emplace(pem, *identity);
  return identity;
}

namespace {

class PeerCheck : public grpc::AuthMetadataProcessor {
 public:
  PeerCheck(const PeerAuthenticator* peers, certs::Role role) : peers_(peers), role_(role) {}

  // Certificates are cached by PeerAuthenticator: no I/O, no blocking.
  bool IsBlocking() const override { return false; }

  grpc::Status Process(const InputMetadata& /*auth_metadata*/, grpc::AuthContext* context,
                       OutputMetadata* /*consumed*/, OutputMetadata* /*response*/) override {
    std::string pem;
    if (context != nullptr) {
      std::vector<grpc::string_ref> pems = context->FindPropertyValues("x509_pem_cert");
      if (!pems.empty()) pem.assign(pems.front().data(), pems.front().size());
    }
    absl::StatusOr<certs::Identity> id = peers_->AuthenticatePem(pem, role_);
    if (!id.ok() && absl::IsUnauthenticated(id.status())) return ToGrpc(id.status());
    return grpc::Status::OK;  // OK, or another role: the service says which
  }

 private:
  const PeerAuthenticator* const peers_;
  const certs::Role role_;
};

}  // namespace

std::shared_ptr<grpc::AuthMetadataProcessor> PeerCheckBeforeRequest(const PeerAuthenticator* peers,
                                                                    certs::Role role) {
  return std::make_shared<PeerCheck>(peers, role);
}

grpc::Status ToGrpc(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

}  // namespace liaison::broker

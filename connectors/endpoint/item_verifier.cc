#include "connectors/endpoint/item_verifier.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "base/file.h"
#include "base/log.h"
#include "certs/envelope.h"
#include "certs/merkle.h"
#include "certs/signature.h"

namespace liaison::endpoint {

ItemVerifier::ItemVerifier(std::shared_ptr<const certs::TrustStore> trust, std::string self)
    : verifier_(std::move(trust)), self_(std::move(self)) {}

absl::Status ItemVerifier::SetTrustStore(std::shared_ptr<const certs::TrustStore> trust) const {
  if (trust->crl_number() < verifier_.trust_store()->crl_number()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "CRL number ", trust->crl_number(), " is lower than ",
        verifier_.trust_store()->crl_number(), ", the one in force; refusing a rollback"));
  }
  verifier_.SetTrustStore(std::move(trust));
  // A new CRL may revoke a key whose roots are cached.
  absl::MutexLock lock(&roots_mu_);
  roots_.clear();
  roots_order_.clear();
  return absl::OkStatus();
}

int64_t ItemVerifier::root_signatures_verified() const {
  absl::MutexLock lock(&roots_mu_);
  return roots_verified_;
}

absl::StatusOr<certs::VerifiedBatchRoot> ItemVerifier::VerifiedRoot(
    const liaison::v1::BrokerSigned& root, absl::Time now) const {
  std::string key;
  for (const std::string* part :
       {&root.statement(), &root.signature(), &root.broker_certificate()}) {
    absl::StrAppend(&key, part->size(), ":", *part);
  }
  key = certs::Sha256(key);
  {
    absl::MutexLock lock(&roots_mu_);
    auto it = roots_.find(key);
    if (it != roots_.end() && now < it->second.broker.not_after) return it->second;
  }
  absl::StatusOr<certs::VerifiedBatchRoot> verified = certs::VerifyBatchRoot(root, verifier_, now);
  absl::MutexLock lock(&roots_mu_);
  ++roots_verified_;
  if (!verified.ok()) return verified.status();
  if (roots_.insert_or_assign(key, *verified).second) {
    roots_order_.push_back(key);
    while (roots_order_.size() > kRootCacheSize) {
      roots_.erase(roots_order_.front());
      roots_order_.pop_front();
    }
  }
  return verified;
}

void ItemVerifier::FollowCrlFile(std::string ca_pem, std::string crl_path, absl::Duration every) {
  ca_pem_ = std::move(ca_pem);
  crl_path_ = std::move(crl_path);
  crl_every_ = every;
}

absl::Status ItemVerifier::MaybeReloadCrl(absl::Time now) const {
  if (crl_path_.empty()) return absl::OkStatus();
  absl::MutexLock lock(&crl_mu_);
  if (now - crl_checked_ < crl_every_) return absl::OkStatus();
  crl_checked_ = now;
  absl::StatusOr<std::string> crl = ReadFile(crl_path_);
  if (!crl.ok()) return crl.status();
  std::string seen = certs::Sha256(*crl);
  if (seen == crl_seen_) return absl::OkStatus();
  crl_seen_ = std::move(seen);
  absl::StatusOr<std::shared_ptr<const certs::TrustStore>> trust =
      certs::TrustStore::FromPem(ca_pem_, *crl);
  if (!trust.ok()) return trust.status();
  if ((*trust)->crl_number() == verifier_.trust_store()->crl_number()) return absl::OkStatus();
  return SetTrustStore(std::move(*trust));
}

absl::StatusOr<VerifiedItem> ItemVerifier::Verify(const liaison::v1::DeliveryItem& item,
                                                  absl::Time now) const {
  if (absl::Status s = MaybeReloadCrl(absl::Now()); !s.ok()) {
    // The CRL in force stays; a broken or older file must not stop delivery
    // verification, but it must be seen.
    log::Warning("client.crl_reload_refused", {{"error", s.ToString()}});
  }
  VerifiedItem out;
  out.item_id_ = item.item_id();
  const std::string* statement_bytes = nullptr;
  if (item.has_statement()) {
    // Signed alone (items written before batch signing).
    const liaison::v1::BrokerSigned& signed_statement = item.statement();
    absl::StatusOr<certs::Identity> broker =
        verifier_.Verify(signed_statement.statement(), signed_statement.signature(),
                         signed_statement.broker_certificate(), certs::Role::kBroker, now);
    if (!broker.ok()) {
      return absl::Status(broker.status().code(),
                          absl::StrCat("broker countersignature: ", broker.status().message()));
    }
    out.broker_ = std::move(*broker);
    statement_bytes = &signed_statement.statement();
  } else if (item.has_batched()) {
    const liaison::v1::BatchSigned& batched = item.batched();
    if (!batched.has_root()) return absl::InvalidArgumentError("batched.root: missing");
    if (!batched.has_inclusion()) return absl::InvalidArgumentError("batched.inclusion: missing");
    absl::StatusOr<certs::VerifiedBatchRoot> root = VerifiedRoot(batched.root(), now);
    if (!root.ok()) return root.status();
    absl::StatusOr<certs::InclusionProof> proof = certs::ParseInclusionProof(batched.inclusion());
    if (!proof.ok()) return proof.status();
    if (absl::Status s = certs::VerifyInclusion(certs::MerkleLeafHash(batched.statement()), *proof,
                                                root->root_hash, root->tree_size);
        !s.ok()) {
      return s;
    }
    out.broker_ = root->broker;
    statement_bytes = &batched.statement();
  } else {
    return absl::InvalidArgumentError("statement: missing (neither statement nor batched)");
  }
  if (!out.statement_.ParseFromString(*statement_bytes)) {
    return absl::InvalidArgumentError("statement: not a liaison.v1.Statement");
  }
  if (item.has_batched() && out.statement_.broker_id() != out.broker_.id) {
    return absl::InvalidArgumentError(
        "batched.statement: broker_id is not the broker that signed the batch root");
  }
  switch (out.statement_.kind_case()) {
    case liaison::v1::Statement::kReceipt:
      if (out.statement_.receipt().addressee() != self_) {
        return absl::PermissionDeniedError("receipt: addressed to another endpoint");
      }
      out.kind_ = VerifiedItem::Kind::kReceipt;
      return out;
    case liaison::v1::Statement::kNotice:
      if (out.statement_.notice().addressee() != self_) {
        return absl::PermissionDeniedError("notice: addressed to another endpoint");
      }
      out.kind_ = VerifiedItem::Kind::kNotice;
      return out;
    case liaison::v1::Statement::kAttestation:
      break;
    default:
      return absl::InvalidArgumentError("statement: no attestation, receipt or notice");
  }
  out.kind_ = VerifiedItem::Kind::kDelivery;
  const liaison::v1::Attestation& a = out.statement_.attestation();
  if (std::find(a.recipients().begin(), a.recipients().end(), self_) == a.recipients().end()) {
    return absl::PermissionDeniedError(
        absl::StrCat("attestation: ", self_, " is not among its recipients"));
  }
  if (a.broker_authored()) {
    // The broker writes one kind of message itself, the answer to a linkage
    // query from its index: derived bytes, sent in the signing node's name.
    if (a.kind() != liaison::v1::KIND_LINKAGE_REPLY) {
      return absl::InvalidArgumentError(
          absl::StrCat("attestation: broker-authored message of kind ",
                       liaison::v1::Kind_Name(a.kind()), "; only KIND_LINKAGE_REPLY is"));
    }
    if (!a.derived() || item.has_original()) {
      return absl::InvalidArgumentError(
          "attestation: a broker-authored message must be derived content, not an envelope");
    }
    if (a.sender() != out.broker_.id) {
      return absl::PermissionDeniedError(
          absl::StrCat("attestation: broker-authored message names sender '", a.sender(),
                       "', not the broker that signed it (", out.broker_.id, ")"));
    }
  }
  const std::string* content = nullptr;
  if (item.has_original()) {
    content = &item.original().message();
  } else if (item.content_case() == liaison::v1::DeliveryItem::kDerivedMessage) {
    content = &item.derived_message();
  } else {
    return absl::InvalidArgumentError("content: missing");
  }
  if (certs::Sha256(*content) != a.content_sha256()) {
    return absl::InvalidArgumentError("content: SHA-256 differs from the attestation");
  }
  if (item.has_original()) {
    if (a.derived()) {
      return absl::InvalidArgumentError("content: attestation says derived, item is original");
    }
    if (a.original_sha256() != a.content_sha256()) {
      return absl::InvalidArgumentError("attestation: original and content hashes differ");
    }
    absl::StatusOr<certs::VerifiedEnvelope> envelope =
        certs::VerifyEnvelope(item.original(), verifier_, now);
    if (!envelope.ok()) {
      return absl::Status(envelope.status().code(),
                          absl::StrCat("sender signature: ", envelope.status().message()));
    }
    if (envelope->signer().id != a.sender()) {
      return absl::PermissionDeniedError("sender signature: signer is not the attested sender");
    }
    out.sender_ = envelope->signer();
    out.message_ = envelope->message();
  } else {
    if (!a.derived()) {
      return absl::InvalidArgumentError("content: derived bytes without a derived attestation");
    }
    liaison::v1::Message message;
    if (!message.ParseFromString(*content)) {
      return absl::InvalidArgumentError("derived_message: not a liaison.v1.Message");
    }
    out.derived_ = true;
    out.message_ = std::move(message);
  }
  if (out.message_->header().message_id() != a.message_id() ||
      out.message_->header().sender() != a.sender()) {
    return absl::InvalidArgumentError("content: message id or sender differs from the attestation");
  }
  if (a.broker_authored()) {
    if (out.message_->header().kind() != liaison::v1::KIND_LINKAGE_REPLY ||
        !out.message_->has_linkage_reply()) {
      return absl::InvalidArgumentError(
          "derived_message: broker-authored content is not a KIND_LINKAGE_REPLY with its body");
    }
    out.broker_authored_ = true;
  }
  return out;
}

}  // namespace liaison::endpoint

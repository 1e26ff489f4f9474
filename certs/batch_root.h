// A broker's signed batch root: one signature over the Merkle root
// (certs/merkle.h) of a batch of statements, each statement then carried
// with its inclusion proof (liaison.v1.BatchSigned). The signature covers
// the domain-separated bytes kBatchRootContext || statement, where
// `statement` is a serialised Statement of kind batch_root; per-item
// statements are signed over their bare bytes, which never begin with that
// text (a serialised Statement starts with a field tag), so neither can
// stand for the other.
//
// Checking one by hand: write kBatchRootContext followed by
// BrokerSigned.statement to a file and verify BrokerSigned.signature over
// it with the broker certificate's public key, e.g.
//   openssl x509 -inform DER -in broker.der -pubkey -noout > broker.pub
//   openssl dgst -sha256 -verify broker.pub -signature root.sig root.bytes
// (ECDSA P-256 keys; for Ed25519 `openssl pkeyutl -verify -rawin`).
#ifndef LIAISON_CERTS_BATCH_ROOT_H_
#define LIAISON_CERTS_BATCH_ROOT_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "certs/certificate.h"
#include "certs/signature.h"
#include "liaison/v1/envelope.pb.h"

namespace liaison::certs {

inline constexpr std::string_view kBatchRootContext = "liaison.v1.BatchRoot\n";

// kBatchRootContext || statement: what a batch root's signature covers.
std::string BatchRootSignedBytes(std::string_view statement);

// A batch root whose signature verified with a valid broker certificate.
struct VerifiedBatchRoot {
  Identity broker;
  uint64_t tree_size = 0;
  std::string root_hash;  // 32 bytes
  absl::Time issued_at;
};

// Checks, in order (errors begin "batch root"): statement, signature and
// certificate present (InvalidArgument naming the empty field); the
// certificate is a valid broker certificate (OU=broker) at `now` and the
// signature verifies over BatchRootSignedBytes (as Verifier::Verify:
// PermissionDenied for an unknown, revoked or non-broker key,
// InvalidArgument for a bad signature); the statement parses as a
// Statement of kind batch_root (InvalidArgument); its broker_id is the
// signer (PermissionDenied); tree_size >= 1 and a 32-byte root_hash
// (InvalidArgument).
absl::StatusOr<VerifiedBatchRoot> VerifyBatchRoot(const liaison::v1::BrokerSigned& root,
                                                  const Verifier& verifier, absl::Time now);

}  // namespace liaison::certs

#endif  // LIAISON_CERTS_BATCH_ROOT_H_

// The endpoint's side of JIT evidence transport (docs/evidence.md), used
// through Client::UploadItem / Client::DownloadItem.
//
// Upload: the file is encrypted chunk by chunk (certs::EvidenceEncryptor, a
// fresh data key per item) into a spool file beside nothing else, the data
// key is wrapped for each recipient member (certs::WrapDataKey), and the
// chunk records are streamed to the broker's Evidence.Upload. A broken
// connection is resumed from the chunks the broker reports durable. Memory
// is bounded: one chunk (plus gRPC's flow-control window) at a time.
//
// Download: the records are streamed back, every chunk is authenticated and
// decrypted (certs::EvidenceDecryptor) and written to "<out>.partial", the
// whole plaintext's SHA-256 is compared with the manifest's, and only then
// is the file renamed to `out`. A broken stream resumes from the next chunk.
#ifndef LIAISON_CONNECTORS_ENDPOINT_EVIDENCE_TRANSFER_H_
#define LIAISON_CONNECTORS_ENDPOINT_EVIDENCE_TRANSFER_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "certs/certificate.h"
#include "certs/key_wrap.h"
#include "certs/trust_store.h"
#include "liaison/v1/evidence.grpc.pb.h"
#include "liaison/v1/message.pb.h"

namespace liaison::endpoint {

// A recipient member and its endpoint-encryption certificate.
struct EvidenceRecipient {
  std::string endpoint_id;
  certs::Certificate encryption_certificate;
};

struct UploadItemOptions {
  std::string jit_id;
  // The manifest's items[].item_id: 1..128 of [A-Za-z0-9._:-].
  std::string item_id;
  std::vector<EvidenceRecipient> recipients;
  // Where the ciphertext is kept while it is uploaded (removed afterwards);
  // empty: the system's temporary directory. Needs the item's size + 16
  // bytes per MiB.
  std::string spool_dir;
  // Connections tried before giving up (each resumes where the last ended).
  int max_attempts = 5;
  // After each chunk is handed to gRPC: (chunks sent, chunk count).
  std::function<void(int64_t, int64_t)> progress;
  // Tests only: the first attempt cancels its call after this many chunks,
  // as a broken connection would (-1: never).
  int64_t break_after_chunks_for_test = -1;
};

// Encrypts, wraps and uploads the file at `path`. Returns the manifest entry's
// transport fields (item_id, sha256, size, ciphertext_sha256, chunk_count,
// ciphertext_size); the caller adds media type, collection data and so on,
// and sends the EVIDENCE_MANIFEST. Errors: NotFound / FailedPrecondition
// naming the file; the key wrap's (PermissionDenied for a certificate that
// is not the recipient's encryption certificate); the broker's status as is
// (it names the item and the chunk).
absl::StatusOr<liaison::v1::EvidenceItem> UploadEvidenceItem(
    liaison::v1::Evidence::StubInterface& stub, const std::string& path,
    const UploadItemOptions& options, const certs::TrustStore& trust, absl::Time now);
// The same through several broker nodes: the first, and after a broken
// connection or an UNAVAILABLE answer the next (in turn), each attempt
// resuming where the last ended (UploadStart.resume: a node that does not
// hold the upload reads it back from Kafka).
absl::StatusOr<liaison::v1::EvidenceItem> UploadEvidenceItem(
    const std::vector<liaison::v1::Evidence::StubInterface*>& nodes, const std::string& path,
    const UploadItemOptions& options, const certs::TrustStore& trust, absl::Time now);

struct DownloadItemOptions {
  int max_attempts = 5;
  // Chunks received ahead of the one being decrypted and written, on a
  // thread of their own (at most this many MiB besides gRPC's 4 MiB
  // window); 0: the caller's thread receives, decrypts and writes in turn.
  size_t read_ahead = 4;
  // Tests only: the first attempt cancels its call after this many chunks.
  int64_t break_after_chunks_for_test = -1;
};

// Downloads `item` (the entry of a verified EVIDENCE_MANIFEST this endpoint
// received) to `out_path`. `key` is this endpoint's encryption key. Errors:
// the broker's status as is; FailedPrecondition when the broker's item is not
// the manifest's (digest, count, size); the unwrap's or the decryptor's
// InvalidArgument naming the item and the chunk (a tampered chunk, a
// missing one, a plaintext SHA-256 that differs from the manifest's). On
// any error nothing is left at `out_path` or "<out_path>.partial".
absl::Status DownloadEvidenceItem(liaison::v1::Evidence::StubInterface& stub,
                                  const liaison::v1::EvidenceItem& item,
                                  const certs::RecipientKey& key, const std::string& out_path,
                                  const DownloadItemOptions& options = {});

}  // namespace liaison::endpoint

#endif  // LIAISON_CONNECTORS_ENDPOINT_EVIDENCE_TRANSFER_H_

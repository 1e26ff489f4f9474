// liaison.v1.Evidence on gRPC's callback API: the transport of JIT evidence
// (docs/evidence.md). The broker never sees plaintext or an unwrapped key;
// it checks what it can without keys.
//
// Upload: an UploadStart (checked by CheckUploadStart), then chunk records
// in index order. Each record is checked (size, index), hashed into the
// item's ciphertext SHA-256 as it passes, and produced to
// `liaison.evidence` keyed by item id (one partition, in order); at most
// kEvidenceUploadWindow chunks are produced and not yet acknowledged by
// Kafka (acks=all), so the broker holds at most 8 MiB per upload. When the client half-closes
// after the last chunk, the count, size and digest are compared with the
// declaration; only then are the wrapped keys written
// (`liaison.evidence.keys`), the upload recorded in the chain of custody
// (RecordCustody), and the item record written (`liaison.evidence.items`):
// the item becomes downloadable. A broken upload resumes from its durable
// chunks: an Upload carrying only its start message answers how many. On
// another node (or after a restart), a start marked `resume` first reads the
// upload's chunks back from Kafka (evidence_resume.h).
//
// Download: allowed only with a grant (EvidenceBook, written by the policy
// stage) for the caller, of a complete item whose ciphertext digest is the
// one in the granted manifest entry; sends a header with the caller's
// wrapped key (once the download's start is recorded in the chain of
// custody), then the records from `from_chunk`, read from Kafka on the
// worker pool up to 8 chunks ahead of the one being sent (one forward pass
// per batch), so that Kafka reads overlap gRPC writes; the end of the
// download is recorded too.
//
// List: the caller's grants, with each item's manifest entry.
//
// Download, List, Acknowledge and an upload's start first wait until the
// node's evidence book has read the evidence topics to the end they had
// when the call came (EvidenceServiceDeps::read_to_end): an erasure written
// through another node before the call is in force here, so no wrapped key
// of an erased item goes out from any node (docs/evidence.md, "Erasure").
//
// Every error status names the item and, where one is at fault, the chunk.
#ifndef LIAISON_BROKER_FRONTDOOR_EVIDENCE_SERVICE_H_
#define LIAISON_BROKER_FRONTDOOR_EVIDENCE_SERVICE_H_

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "broker/core/clock.h"
#include "broker/core/countersigner.h"
#include "broker/core/observer.h"
#include "broker/core/topics.h"
#include "broker/core/worker_pool.h"
#include "broker/frontdoor/evidence_resume.h"
#include "broker/frontdoor/peer.h"
#include "broker/state/evidence_book.h"
#include "certs/evidence_crypto.h"
#include "connectors/kafka/client_config.h"
#include "connectors/kafka/producer.h"
#include "liaison/v1/evidence.grpc.pb.h"
#include "policy/registry.h"

namespace liaison::broker {

// How long chunks are kept (Regulation 2023/969's model: 4 weeks); the
// evidence topic's retention on real Kafka (deploy/kafka/topics.sh).
inline constexpr absl::Duration kEvidenceRetention = absl::Hours(24 * 28);
// The largest item (ciphertext bytes) a node on the embedded mock cluster
// accepts: the mock keeps about 5 MiB per partition and drops older data
// silently, so a larger item would be lost. 0 = no limit (real Kafka).
inline constexpr int64_t kEmbeddedEvidenceMaxItemBytes = int64_t{4} << 20;
// Chunks of one upload produced and not yet acknowledged by Kafka: the
// broker holds at most this many chunk records (8 MiB) per upload.
inline constexpr int kEvidenceUploadWindow = 8;
// Uploads open (not complete) on one node at a time.
inline constexpr size_t kMaxOpenEvidenceUploads = 1024;
// An upload no call has touched for this long is forgotten (its progress:
// the sender starts again from chunk 0), so abandoned uploads do not hold
// the node's kMaxOpenEvidenceUploads places.
inline constexpr absl::Duration kEvidenceUploadIdle = absl::Hours(1);

// Checks an Upload's first message from `peer` at `now`, in this order:
// item id (InvalidArgument); ciphertext_sha256 of 32 bytes, chunk_count >= 1
// and a ciphertext_size that chunk_count records can have (InvalidArgument);
// the size limit (FailedPrecondition naming it; `max_item_bytes` 0 = none);
// the JIT exists (NotFound), `peer` is a member (PermissionDenied), start <=
// now < end (FailedPrecondition); at least one wrapped key, each well formed
// and for this item (InvalidArgument "wrapped_keys[i]: ..."), each for a
// member of the JIT (PermissionDenied), no recipient twice
// (InvalidArgument). Every message starts "evidence item '<id>': ". Pure.
absl::Status CheckUploadStart(const liaison::v1::UploadStart& start, const std::string& peer,
                              const policy::Registry& registry, absl::Time now,
                              int64_t max_item_bytes);

// OK unless `item` was erased; then FailedPrecondition "evidence item 'ID':
// erased at T (its keys destroyed): <why> (due D)".
absl::Status CheckNotErased(const liaison::v1::EvidenceItemRecord& item);

// CheckNotErased, and FailedPrecondition "evidence item 'ID': being erased
// (<why>, due D): no download is admitted" once the policy stage marked it
// for erasure (erasure_pending): the check of a download's start.
absl::Status CheckDownloadable(const liaison::v1::EvidenceItemRecord& item);

// Unavailable "<what>: this node has not caught up with the evidence
// records in Kafka (<why>); <then>": a read to the end (read_to_end) that
// failed or timed out.
absl::Status NotReadToEnd(absl::string_view what, const absl::Status& why, absl::string_view then);

// Checks an Acknowledge from `peer` against the node's book, in this order:
// item id (InvalidArgument); the item erased, for a member it was wrapped
// for, the uploader or a grantee (FailedPrecondition, CheckNotErased);
// a grant for `peer` (PermissionDenied); the item complete
// (FailedPrecondition); `sha256` the granted manifest entry's plaintext
// SHA-256 (InvalidArgument naming both digests). Returns the ACKNOWLEDGED
// event to record.
absl::StatusOr<liaison::v1::EvidenceEvent> CheckAcknowledge(
    const liaison::v1::AcknowledgeRequest& request, const std::string& peer,
    const EvidenceBook& book);

struct EvidenceServiceDeps {
  Topics topics;
  // How download readers reach Kafka.
  kafka::ClientConfig kafka;
  kafka::Producer* producer = nullptr;
  std::function<std::shared_ptr<const policy::Registry>()> registry;
  EvidenceBook* book = nullptr;
  WorkerPool* pool = nullptr;
  const Clock* clock = nullptr;
  const PeerAuthenticator* peers = nullptr;
  Observer* observer = nullptr;  // may be null
  // kEmbeddedEvidenceMaxItemBytes on the mock, 0 on real Kafka.
  int64_t max_item_bytes = 0;
  // Signs the custody events this node observes (RecordCustody).
  const Countersigner* countersigner = nullptr;
  // This node's id (its broker certificate's CN).
  std::string node_id;
  // The ingress partition (audit chain) of an item's custody events: the one
  // whose owner erases the item (EvidenceChainOf). Unset: by key.
  std::function<int32_t(absl::string_view item_id)> custody_partition;
  // The partition of the chunk topic every chunk of an item goes to, so that
  // any node can read an unfinished upload back (evidence_resume.h). Unset:
  // Kafka picks it from the key, and a resume on a node that does not hold
  // the upload starts from chunk 0.
  std::function<int32_t(absl::string_view item_id)> chunk_partition;
  // An upload whose session began longer ago (wall time) is not completed
  // (kEvidenceUploadMaxAge; the evidence keeper's upload horizon follows it).
  absl::Duration upload_max_age = kEvidenceUploadMaxAge;
  // Read to the end (TopicMirror::AfterReadToEnd of the node's reader of the
  // evidence topics): calls `done` once the book holds every record written
  // to them before the call, or with Unavailable after `timeout`. Unset: the
  // book is used as it is.
  std::function<void(absl::Duration timeout, std::function<void(absl::Status)> done)> read_to_end;
  // Tests only (BrokerConfig::download_started_hook): called on the worker
  // pool once Kafka acknowledged a download's start, before the node checks
  // the item again and sends the header.
  std::function<void(const std::string& item_id)> download_started_hook;
};

// How long a download, list, acknowledgement or upload start waits for the
// node's evidence book to have read the evidence topics to their end (so
// that an erasure, a grant or an item another node wrote before the request
// is in force here) before it is refused UNAVAILABLE.
inline constexpr absl::Duration kEvidenceReadToEndTimeout = absl::Seconds(5);

// One item being uploaded on this node: what its chunks so far add up to.
// Used by one Upload call at a time (`busy`).
struct UploadSession {
  std::string uploader;
  liaison::v1::UploadStart declared;
  // UploadDeclarationTag(uploader, declared): a header of every chunk record.
  std::string declaration_tag;
  certs::Sha256Stream hasher;
  int64_t next = 0;     // chunks accepted and produced
  int64_t durable = 0;  // of those, acknowledged by Kafka (= next between calls)
  int64_t bytes = 0;    // of the accepted chunks
  int32_t partition = -1;
  std::vector<int64_t> offsets;  // by chunk index
  // The GCM tag of each durable chunk: a chunk sent again is compared with it.
  std::vector<std::array<char, certs::kEvidenceTagBytes>> tags;
  // Set once every chunk is durable and the digest matched.
  bool verified = false;
  bool busy = false;
  // When an Upload last took or let go of the session (the node's clock).
  absl::Time touched;
  // When the session began, in wall time: before its first chunk's Kafka
  // timestamp, which the evidence keeper's upload horizon is measured on.
  absl::Time began_wall;
};

class EvidenceService final : public liaison::v1::Evidence::CallbackService {
 public:
  explicit EvidenceService(EvidenceServiceDeps deps);
  // Waits for the read-backs still running (each ends within
  // kEvidenceReadBackTimeout).
  ~EvidenceService() override;

  grpc::ServerReadReactor<liaison::v1::UploadRequest>* Upload(
      grpc::CallbackServerContext* context, liaison::v1::UploadResult* result) override;
  grpc::ServerWriteReactor<liaison::v1::DownloadResponse>* Download(
      grpc::CallbackServerContext* context, const liaison::v1::DownloadRequest* request) override;
  // The caller acknowledges a downloaded item (CheckAcknowledge); answered
  // once the ACKNOWLEDGED event is acknowledged by Kafka (RecordCustody).
  grpc::ServerUnaryReactor* Acknowledge(grpc::CallbackServerContext* context,
                                        const liaison::v1::AcknowledgeRequest* request,
                                        liaison::v1::AcknowledgeResponse* response) override;
  // The caller's grants (EvidenceBook::GrantsFor), each marked complete when
  // the item record exists and is not erased.
  grpc::ServerUnaryReactor* List(grpc::CallbackServerContext* context,
                                 const liaison::v1::ListRequest* request,
                                 liaison::v1::ListResponse* response) override;

  // For the reactors (evidence_service.cc).
  const EvidenceServiceDeps& deps() const { return deps_; }
  void ReportRpc(const char* method, absl::StatusCode code) const {
    if (deps_.observer != nullptr) deps_.observer->OnRpc(method, code);
  }
  // The session of `start.item_id` for `peer`, marked busy: the existing one
  // when the declaration is the same (a resume), a new one otherwise.
  // PermissionDenied (another uploader), FailedPrecondition (resumed with
  // another declaration, naming the durable chunks), Aborted (another
  // Upload of the item is open), ResourceExhausted (too many open uploads).
  // A new session begins where `read_back` ends, when given (its chunks
  // are moved in).
  absl::StatusOr<std::shared_ptr<UploadSession>> Acquire(const liaison::v1::UploadStart& start,
                                                         const std::string& peer,
                                                         ReadBackUpload* read_back = nullptr)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Whether this node holds an upload of `item_id` (complete or not).
  bool HasSession(const std::string& item_id) ABSL_LOCKS_EXCLUDED(mu_);
  // A start marked `resume` of an upload this node does not hold: reads
  // the upload's chunks back from Kafka on a thread of its own
  // (ReadBackUploadFromKafka, at most kMaxEvidenceReadBacks at once, else
  // Unavailable), then Acquire with them; `done` gets Acquire's
  // result or the read-back's error.
  void ReadBackThenAcquire(
      liaison::v1::UploadStart start, std::string peer,
      std::function<void(absl::StatusOr<std::shared_ptr<UploadSession>>)> done);
  void Release(const std::string& item_id) ABSL_LOCKS_EXCLUDED(mu_);
  // Hands `event` to the policy stage for the item's chain of custody
  // (docs/evidence.md): an IngressEvent signed with this node's broker key,
  // produced to `liaison.ingress` keyed by item id, to the item's partition
  // (custody_partition), so that an item's events are audited in order on
  // one chain, the one whose owner also erases the item. `done` runs once Kafka
  // acknowledged it, or with the reason it was not recorded.
  void RecordCustody(liaison::v1::EvidenceEvent event,
                     std::function<void(absl::Status)> done) const;
  // Acknowledge once the book is read to the end: checks (CheckAcknowledge)
  // and records the acknowledgement, then finishes `reactor`.
  void AcknowledgeRead(grpc::ServerUnaryReactor* reactor,
                       const liaison::v1::AcknowledgeRequest& request, const std::string& member,
                       liaison::v1::AcknowledgeResponse* response);
  // List once the book is read to the end.
  void ListRead(grpc::ServerUnaryReactor* reactor, const std::string& member,
                liaison::v1::ListResponse* response) const;
  // Forgets the session (complete, or its content is wrong).
  void Drop(const std::string& item_id) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  // Read-backs running; shared with their threads, so that the last one
  // leaves it after the service waited for it.
  struct ReadBacks {
    absl::Mutex mu;
    int running ABSL_GUARDED_BY(mu) = 0;
  };

  const EvidenceServiceDeps deps_;
  const std::shared_ptr<ReadBacks> read_backs_ = std::make_shared<ReadBacks>();
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<UploadSession>> sessions_ ABSL_GUARDED_BY(mu_);
};

}  // namespace liaison::broker

#endif  // LIAISON_BROKER_FRONTDOOR_EVIDENCE_SERVICE_H_

// The front door's side of case linkage: an endpoint's signed index batch
// (liaison.v1.Linkage.Publish) is verified, checked as a whole, written to
// the compacted topic `liaison.linkage.index` (acks=all), made answerable on
// this node, and audited through a signed IndexChange event in
// `liaison.ingress` — only then is the batch reported stored. A batch is
// stored whole or refused whole; a refusal names the entry and the field.
#ifndef LIAISON_BROKER_FRONTDOOR_INDEX_PUBLISHER_H_
#define LIAISON_BROKER_FRONTDOOR_INDEX_PUBLISHER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "broker/core/clock.h"
#include "broker/core/countersigner.h"
#include "broker/core/topics.h"
#include "broker/core/worker_pool.h"
#include "broker/state/linkage_book.h"
#include "certs/signature.h"
#include "connectors/kafka/producer.h"
#include "liaison/v1/linkage.pb.h"
#include "policy/registry.h"

namespace liaison::broker {

// Most entries, and most withdrawals, in one batch.
inline constexpr int kMaxIndexBatchEntries = 10000;
// Longest an index entry may live after publishing (DP-RET-01's maximum for
// linkage data).
inline constexpr absl::Duration kMaxIndexEntryRetention = absl::Hours(24 * 180);

// What one batch writes: upserts first, then withdrawals (tombstones).
struct IndexPlan {
  std::vector<LinkageRecord> upserts;
  std::vector<LinkageRecord> withdrawals;
};

// Checks a parsed batch from `peer` against the registry and the node's
// book at `now`; pure apart from reading the book. InvalidArgument,
// PermissionDenied, FailedPrecondition or ResourceExhausted, each naming
// the field path ("entries[17].value: ...") and the limit.
// `pending_entries`: entries of the publisher's earlier batches written but
// not yet in the book (a pipelined stream), counted against its limit.
absl::StatusOr<IndexPlan> PlanIndexBatch(const liaison::v1::IndexBatch& batch,
                                         const std::string& peer, const policy::Registry& registry,
                                         const LinkageBook& book, absl::Time now,
                                         int64_t pending_entries = 0);

// True when the serialised IndexBatch `batch` has withdrawals (top-level
// field 5), found without parsing the entries. A withdrawal must see every
// earlier batch of its stream in the book.
bool HasWithdrawals(const std::string& batch);

struct IndexPublisherDeps {
  Topics topics;
  kafka::Producer* producer = nullptr;
  const certs::Verifier* verifier = nullptr;
  const Countersigner* countersigner = nullptr;
  std::function<std::shared_ptr<const policy::Registry>()> registry;
  LinkageBook* book = nullptr;
  WorkerPool* pool = nullptr;
  const Clock* clock = nullptr;
  std::string node_id;
};

class IndexPublisher {
 public:
  using Done = std::function<void(liaison::v1::IndexBatchResult)>;
  // The batch's records were all handed to the producer (`entries` of them
  // upserts), or it was refused before anything was written (0): the next
  // batch of the stream may be submitted, and Kafka keeps their order.
  using Queued = std::function<void(int64_t entries)>;

  explicit IndexPublisher(IndexPublisherDeps deps) : deps_(std::move(deps)) {}

  // Thread-safe. `done` runs exactly once (on a worker or Kafka thread) with
  // the batch's result: code 0 when every record and the audit event are
  // acknowledged; otherwise the refusal (nothing written) or Unavailable
  // (Kafka did not acknowledge everything: send the batch again, which is
  // safe).
  // `queued` runs exactly once, before or after `done` (a batch refused or
  // acknowledged fast may finish first). `pending_entries` as for
  // PlanIndexBatch.
  void Submit(liaison::v1::SignedIndexBatch signed_batch, std::string peer, uint64_t sequence,
              int64_t pending_entries, Queued queued, Done done) const;

 private:
  void Write(std::shared_ptr<liaison::v1::IndexBatchResult> result, IndexPlan plan,
             liaison::v1::IndexChange change, Queued queued, Done done) const;
  void Audit(std::shared_ptr<liaison::v1::IndexBatchResult> result, IndexPlan plan,
             liaison::v1::IndexChange change, Done done) const;

  const IndexPublisherDeps deps_;
};

}  // namespace liaison::broker

#endif  // LIAISON_BROKER_FRONTDOOR_INDEX_PUBLISHER_H_

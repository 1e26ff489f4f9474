// Erases JIT evidence items when they are due, and follows JIT extensions
// (docs/evidence.md, "Erasure"). One ticker per node, every `tick` (1 s):
// for every live item in the node's evidence book whose audit chain this
// node's policy stage owns, it
//  - rewrites the item record when the registry's end of its JIT differs
//    from the record's jit_end (custody entry "evidence-jit-extended");
//  - marks the item once ErasureDueOf (evidence_erasure.h) is at or before
//    the policy clock's now (the record rewritten with erasure_pending: no
//    node admits a download of it from then on), then writes an
//    ERASURE_POINT event into the item's ingress partition, and erases it
//    once the stage has sealed past that point (docs/evidence.md, "A
//    download during the erasure"): tombstones on keys and grants, the
//    record rewritten with its erasure, an ERASURE audit entry and signed
//    EVIDENCE_ERASED notices, all written through the stage (audit first).
//
// It also deletes chunk records from Kafka (docs/evidence.md, "Deleting
// chunk records"): partition p of the chunk topic is worked by the owner of
// audit chain p % ingress_partitions (with the same takeover grace), which
// moves the partition's low watermark (DeleteRecords) up to
// ChunkDeletionBoundOf: the first chunk of the oldest live item there, and
// nothing written within `upload_horizon` (uploads in progress). Only
// erasures already in Kafka free a chunk (the book applies an erasure once
// Kafka acknowledged it). A request is sent only when that bound passes the
// low watermark last seen, at most every `chunk_retry` for a partition that
// could not move; deleting below the low watermark changes nothing, so
// a restarted node or a new owner simply computes the bound again. On a
// cluster without DeleteRecords (the embedded mock) it logs
// "evidence.chunk_deletion_unsupported" once, counts it, and stops asking.
//
// Single writer: an item belongs to ingress partition (audit chain)
// EvidenceChainOf(item id), and only the node owning that partition in the
// policy group acts on it; a partition newly owned is worked only after
// `takeover_grace` (wall time), so that the previous owner's last writes
// have reached this node's evidence book. Everything it decides from comes
// from Kafka (the evidence topics, the registry), so a restarted node picks
// up where the cluster is; an erased record is never erased again.
#ifndef LIAISON_BROKER_STAGE_EVIDENCE_KEEPER_H_
#define LIAISON_BROKER_STAGE_EVIDENCE_KEEPER_H_

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "broker/core/clock.h"
#include "broker/core/observer.h"
#include "broker/core/topics.h"
#include "broker/stage/hold_resolver.h"
#include "broker/state/evidence_book.h"
#include "connectors/kafka/admin.h"
#include "connectors/kafka/client_config.h"
#include "policy/registry.h"

namespace liaison::broker {

// The ingress partition (audit chain) whose owner erases `item_id`: the
// first four bytes of SHA-256(item id), big-endian, modulo `partitions`.
// The broker also places an item's chunks with it (modulo the chunk topic's
// partitions), the same on every node.
int32_t EvidenceChainOf(absl::string_view item_id, int partitions);

struct EvidenceKeeperDeps {
  Topics topics;
  HoldResolver* stage = nullptr;
  EvidenceBook* book = nullptr;
  std::function<std::shared_ptr<const policy::Registry>()> registry;
  const Clock* clock = nullptr;  // policy time
  std::string broker_id;
  int ingress_partitions = 1;
  absl::Duration tick = absl::Seconds(1);
  absl::Duration takeover_grace = absl::Seconds(2);
  // Chunk deletion: how the keeper reaches Kafka (empty bootstrap_servers:
  // no deletion), the chunk topic's partitions, the upload horizon (wall
  // time, against the records' Kafka timestamps: the front door's
  // upload_max_age plus a margin for clocks and the item record's way to
  // this node), and how soon a partition that could not move is asked again.
  // kafka.mock: librdkafka 2.0.2's mock has no DeleteRecords (and its client
  // leaks an allocation on that refusal), so the keeper reports deletion
  // unsupported without asking.
  kafka::ClientConfig kafka;
  int chunk_partitions = 0;
  absl::Duration upload_horizon = kEvidenceUploadMaxAge + absl::Hours(1);
  absl::Duration chunk_retry = absl::Seconds(60);  // the broker: min(60 s, upload_horizon)
  Observer* observer = nullptr;                    // may be null
  // Tests only (BrokerConfig::evidence_erasure_hook): false postpones an
  // erasure whose point the stage has passed.
  std::function<bool(const std::string& item_id)> erasure_hook;
};

class EvidenceKeeper {
 public:
  explicit EvidenceKeeper(EvidenceKeeperDeps deps) : deps_(std::move(deps)) {}
  ~EvidenceKeeper() { Stop(); }

  void Start();
  void Stop();

  // Erasures written by this node (for tests and metrics).
  int64_t erased() const { return erased_.load(); }
  // Chunk records this node deleted from Kafka.
  int64_t chunk_records_deleted() const { return chunk_records_deleted_.load(); }

 private:
  void Loop();
  void Tick() ABSL_LOCKS_EXCLUDED(mu_);
  // Moves the low watermark of the chunk partitions `eligible` (by the
  // chains this node owns) as far as ChunkDeletionBoundOf allows. Keeper
  // thread only.
  void DeleteChunks(const std::set<int32_t>& eligible_chains);
  // Whether the stage has sealed past the erasure point of `item` (marked
  // erasure_pending) on `chain`; writes the point first when it has none
  // (then false). Keeper thread only.
  bool PointPassed(const liaison::v1::EvidenceItemRecord& item, int32_t chain)
      ABSL_LOCKS_EXCLUDED(mu_);

  const EvidenceKeeperDeps deps_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> erased_{0};
  std::atomic<int64_t> chunk_records_deleted_{0};
  // Keeper thread only: the Kafka client (made at the first need), the low
  // watermark last seen per chunk partition, when a partition that could
  // not move is asked again, and whether the cluster refused DeleteRecords.
  std::unique_ptr<kafka::RecordDeleter> deleter_;
  std::map<int32_t, int64_t> low_;
  std::map<int32_t, absl::Time> next_try_;
  bool unsupported_ = false;
  std::thread thread_;
  absl::Mutex mu_;
  // Items whose erasure or rewrite is being written (not acted on again).
  absl::flat_hash_set<std::string> busy_ ABSL_GUARDED_BY(mu_);
  // Erasure points written, by item: the chain and the point's offset (-1
  // until Kafka acknowledged it).
  struct Point {
    int32_t chain = 0;
    int64_t offset = -1;
  };
  std::map<std::string, Point> points_ ABSL_GUARDED_BY(mu_);
  // Owned partitions and since when (wall time).
  std::map<int32_t, absl::Time> owned_since_ ABSL_GUARDED_BY(mu_);
};

}  // namespace liaison::broker

#endif  // LIAISON_BROKER_STAGE_EVIDENCE_KEEPER_H_

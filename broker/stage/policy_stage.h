// The policy stage: consumes `liaison.ingress` in the consumer group
// `liaison-policy` (several broker nodes share its partitions) and, for every
// message and every recipient, asks the policy chain, audits the decision,
// and only then forwards:
//
//   ALLOW / REDACT → countersigned DeliveryItem on liaison.deliver.<recipient>
//                    (one signature per distinct body: recipients receiving
//                    the same bytes with the same obligations share it)
//   REJECT         → signed NON_DELIVERY notice to the sender
//   HOLD / DELAY   → HeldDelivery on liaison.holds + notices (HoldBook works it)
//
// What a message causes is planned by pure functions (plan.h, decide.h) and
// carried out by the applier (applier.h); this class verifies, runs the
// steps in order and writes the result.
//
// Two guarantees, by backend (docs/architecture.md):
//
// Real Kafka (PolicyStageDeps::transactional_id set): exactly once. What an
// ingress record causes (audit entries, deliveries, notices, holds,
// bookkeeping records) is written in one Kafka transaction together with the
// record's consumer offset (txn_writer.h: one transactional producer per
// node, offsets sent with the group's metadata, KIP-447); readers are
// read_committed. Inside the transaction the audit record is still written
// first. A transaction that fails is aborted and redone with the same sealed
// audit bytes and records; before partitions are revoked the open
// transaction is aborted, so nothing of a chain commits once its next owner
// may have read the chain's head. A fatal transactional error
// (policy.transactions_fatal: e.g. fenced by another process with the same
// id) stops this node consuming (policy.stopped_consuming); its partitions
// go to the other nodes.
//
// Embedded mock (no transactions): at-least-once and deterministic: an
// ingress offset is committed only when everything it caused is acknowledged
// by Kafka; a replayed record yields the same item ids, which the delivery
// side deduplicates.
//
// Both: if the audit write fails nothing is forwarded and the write is tried
// again (DP-LOG-01) with the very same sealed audit bytes and records —
// never decided and sealed anew, which would leave the failed sequence
// numbers as a gap in the chain.
#ifndef LIAISON_BROKER_STAGE_POLICY_STAGE_H_
#define LIAISON_BROKER_STAGE_POLICY_STAGE_H_

#include <array>
#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "broker/core/batch_signer.h"
#include "broker/core/clock.h"
#include "broker/core/countersigner.h"
#include "broker/core/observer.h"
#include "broker/core/record_batcher.h"
#include "broker/core/topics.h"
#include "broker/core/verified_envelopes.h"
#include "broker/core/worker_pool.h"
#include "broker/stage/applier.h"
#include "broker/stage/audit.h"
#include "broker/stage/hold_resolver.h"
#include "broker/stage/notices.h"
#include "broker/stage/outputs.h"
#include "broker/stage/txn_writer.h"
#include "broker/state/accepted_ids.h"
#include "broker/state/evidence_book.h"
#include "broker/state/linkage_book.h"
#include "broker/state/state_indexes.h"
#include "certs/signature.h"
#include "connectors/kafka/consumer.h"
#include "connectors/kafka/producer.h"
#include "liaison/v1/broker_state.pb.h"
#include "policy/chain.h"
#include "policy/counters.h"
#include "policy/redact.h"

namespace liaison::broker {

using ChainProvider = std::function<std::shared_ptr<const policy::Chain>()>;
using OnConsentRecorded = std::function<void(const liaison::v1::ConsentGrant&)>;
using OnHoldCreated = std::function<void(const liaison::v1::HeldDelivery&)>;

// Figures for metrics and the operators' views.
struct PolicyStageStats {
  std::atomic<int64_t> messages{0};
  std::atomic<int64_t> decisions[6] = {};  // by liaison.v1.Outcome
  std::atomic<int64_t> retries{0};
  std::atomic<int64_t> audit_failures{0};
  std::atomic<int64_t> ingress_lost{0};
  std::atomic<int64_t> unreadable{0};
  // Ingress or held records refused because they do not verify: an envelope
  // whose sender signature fails, or an event without a valid broker
  // signature (dropped loudly: logged as policy.forged_ingress).
  std::atomic<int64_t> forged{0};
  // Transactions (real Kafka): committed, aborted (and written again).
  std::atomic<int64_t> txn_commits{0};
  std::atomic<int64_t> txn_aborts{0};
};

struct PolicyStageDeps {
  kafka::ClientConfig kafka;
  Topics topics;
  kafka::Producer* producer = nullptr;
  const Countersigner* countersigner = nullptr;
  const ItemSigner* items = nullptr;
  // Set: delivery statements and receipts are signed in batches (one
  // signature over a Merkle root per batch, DeliveryItem.batched) after
  // their audit entries are written; unset: each signed alone. Not owned.
  BatchSigner* batch_signer = nullptr;
  // Verifies every record again: the sender's envelope (endpoint-signing
  // certificate) or the delivery side's event (broker certificate).
  const certs::Verifier* verifier = nullptr;
  // Envelopes this process verified already (the front door's, and the
  // stage's own): one whose exact bytes are in it under the trust store in
  // force is not verified again. Null: the stage keeps its own.
  VerifiedEnvelopes* verified_envelopes = nullptr;
  WorkerPool* pool = nullptr;
  ChainProvider chain;
  const Clock* clock = nullptr;
  const AcceptedIds* accepted = nullptr;
  AuditLog* audit = nullptr;
  SourceBook* sources = nullptr;
  ConsentBook* consents = nullptr;
  policy::SlidingWindowCounters* counters = nullptr;
  const policy::Pseudonymiser* pseudonymiser = nullptr;
  // The node's linkage index: LINKAGE_QUERY messages are answered from it
  // (null: every query is refused with a notice, nothing is searched).
  const LinkageBook* linkage = nullptr;
  // The node's JIT evidence book: an ACKNOWLEDGED evidence event rewrites
  // the member's grant from it (null: acknowledgements are not recorded).
  const EvidenceBook* evidence = nullptr;
  // Reads the evidence topics into `evidence` to their end (blocking, at
  // most `timeout`). Called when chains are taken over, before any of their
  // records is decided: the previous owner may have erased an item just
  // before, and a download start behind the erasure is recorded as refused
  // only if the book has the erasure (docs/evidence.md, "A download during
  // the erasure"). Null: not waited for.
  std::function<absl::Status(absl::Duration timeout)> evidence_caught_up;
  std::string broker_id;
  int session_timeout_ms = 10000;
  // Non-empty (real Kafka): everything the stage writes goes through Kafka
  // transactions under this transactional.id (txn_writer.h), together with
  // its ingress offsets; empty (the embedded mock, which ignores
  // transactions): at-least-once, deduplicated by the delivery side.
  std::string transactional_id;
  // The transactional producer's options (timeouts, linger, sizes).
  kafka::ProducerOptions transaction_producer;
  // A transaction closes after this many items or this long.
  int transaction_max_items = 1000;
  absl::Duration transaction_max_wait = absl::Milliseconds(20);
  // Told of every decision and loss (may be null).
  Observer* observer = nullptr;
  // The stage's one edge to the hold book (which sees the stage only as a
  // HoldResolver), as two named events:
  // a KIND_CONSENT message was recorded (HoldBook re-checks the holds it covers);
  OnConsentRecorded on_consent;
  // a new HeldDelivery was written (HoldBook takes it over).
  OnHoldCreated on_held;
};

class PolicyStage final : public HoldResolver {
 public:
  explicit PolicyStage(PolicyStageDeps deps);
  ~PolicyStage();

  absl::Status Start();
  // Stops consuming, waits for in-flight work, commits what is done.
  void Stop();

  // HoldResolver: the held message decided again for its recipient.
  Outputs Reevaluate(const liaison::v1::HeldDelivery& held, absl::Time now) const override;

  // Audits then writes `outputs` (audit first; nothing else if the audit
  // write fails); `done` gets OK when every record is acknowledged. A failed
  // write is tried again with the same sealed audit bytes and records (same
  // seqs: no gap in the chain) while this node owns `chain`; `done` gets the
  // error only once the chain was released (nothing sealed here is written
  // later: its new owner continues from the last entry in Kafka) or the
  // stage stops.
  void Write(int32_t chain, Outputs outputs, std::function<void(absl::Status)> done) override;

  // Decides without side effects (no counters, no records, nothing written):
  // the explain RPC.
  std::vector<policy::Decision> Explain(const liaison::v1::Message& message,
                                        const std::vector<std::string>& recipients,
                                        size_t message_bytes, absl::Time now) const;

  // A signed notice for its addressee's delivery topic (nullopt if signing
  // failed, which is logged).
  std::optional<Outputs::Record> NoticeRecord(liaison::v1::Notice notice,
                                              absl::Time now) const override;

  // Ingress partitions this node owns now (HoldBook works only their holds).
  std::vector<int32_t> OwnedPartitions() const override ABSL_LOCKS_EXCLUDED(mu_);

  // Evidence erasure (HoldResolver; docs/evidence.md, "A download during the
  // erasure"): the point event, and how far the chain is sealed.
  void WriteErasurePoint(int32_t chain, const liaison::v1::EvidenceItemRecord& item,
                         std::function<void(absl::StatusOr<int64_t>)> done) override;
  bool SealedPast(int32_t chain, int64_t offset) const override ABSL_LOCKS_EXCLUDED(mu_);

  const PolicyStageStats& stats() const { return stats_; }

  // The sender's signature over `envelope`, checked at `accepted_at` (never
  // later than the wall clock) so that a held message whose signing
  // certificate expired since is still released; revocation applies
  // whatever the time.
  // Verified envelopes are remembered by digest until the trust store
  // changes. Returns the parsed message.
  absl::StatusOr<liaison::v1::Message> VerifiedMessage(const liaison::v1::SignedEnvelope& envelope,
                                                       absl::Time accepted_at) const;
  int64_t lag() const { return lag_.load(); }

  // Writing in Kafka transactions (PolicyStageDeps::transactional_id).
  bool transactional() const { return txn_ != nullptr; }
  // Transactions only, after Start: the next transaction that would commit
  // is aborted instead (and its items written again in the next), or is
  // left open as by a crash (this node then writes nothing more and stops
  // consuming). Tests of exactly-once.
  void AbortNextTransactionForTest() { txn_->AbortNextCommitForTest(); }
  void AbandonNextTransactionForTest() { txn_->AbandonNextCommitForTest(); }

 private:
  // Verifies the ingress record's envelope, then: consent (plan, then put in
  // the book), decisions, plan, apply (plan.h). `step` names the occasion in
  // audit and flow records (kDecided, kReleased). Thread-safe.
  Outputs Evaluate(const liaison::v1::IngressRecord& ingress,
                   const std::vector<std::string>& recipients, absl::Time now, FlowStep step,
                   int32_t ingress_partition) const;

  struct Work;
  struct Partition {
    std::deque<std::shared_ptr<Work>> works;
    // The offset after the last ingress record whose audit entries were
    // sealed (-1: none since the partition was assigned).
    int64_t sealed_next = -1;
    // Evidence items whose erasure was sealed on this chain since it was
    // assigned (an erasure of an earlier owner is in the evidence book).
    std::set<std::string> erased;
  };

  void Loop();
  void Compute(const std::shared_ptr<Work>& work);
  // The allowed recipients' index entries for a LINKAGE_QUERY (nullopt for
  // other kinds or when nothing was allowed).
  std::optional<LinkageLookup> LookUpLinkage(const liaison::v1::Message& message,
                                             const std::vector<Decided>& decisions,
                                             absl::Time now) const;
  // An index batch the front door wrote: audited, nothing delivered.
  Outputs IndexChangeOutputs(const liaison::v1::IndexChange& change, absl::Time now) const;
  // A node's signed evidence event: an ACKNOWLEDGED one rewrites the
  // member's grant with acknowledged_at.
  Outputs EvidenceOutputs(const liaison::v1::EvidenceEvent& event, absl::Time now) const;
  Outputs ExpiredOutputs(const liaison::v1::ExpiredItem& expired, absl::Time now) const;
  // The audit entry of an acknowledgement (LED art 25).
  liaison::v1::AuditEntry ReceiptAuditEntry(const liaison::v1::Receipt& receipt,
                                            absl::Time now) const;
  // A single receipt event (written by earlier versions): its audit entry and
  // the sender's receipt item.
  Outputs ReceiptOutputs(const liaison::v1::Receipt& receipt, absl::Time now) const;
  // An acknowledgement batch: one audit entry per receipt (in one audit
  // record), and per sender one record grouping its receipts.
  Outputs ReceiptBatchOutputs(const liaison::v1::ReceiptBatch& batch, absl::Time now) const;
  void Dispatch(int32_t partition) ABSL_LOCKS_EXCLUDED(mu_);
  // Evidence erasures sealed on `chain` since it was assigned (Write), and
  // whether `item_id`'s erasure was sealed (here or, by an earlier owner,
  // in the evidence book) before the entry being sealed now.
  void NoteErasure(int32_t chain, const std::string& item_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool ErasedBefore(const Partition& partition, const std::string& item_id) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Send(const std::shared_ptr<Work>& work);
  struct PendingWrite;
  void WriteAttempt(const std::shared_ptr<PendingWrite>& write);
  bool Owns(int32_t partition) const ABSL_LOCKS_EXCLUDED(mu_);
  // `transaction` set: everything goes into that producer's open
  // transaction; unset: the shared producer, audit acknowledged first.
  void Forward(int32_t chain, AuditLog::Sealed sealed_audit,
               std::shared_ptr<const std::vector<Outputs::Record>> records,
               std::function<void(absl::Status)> done, kafka::Producer* transaction = nullptr);
  // Forward's second half, once the audit entries are acknowledged: signs
  // the records' leaves as one request to the batch signer (if any), then
  // produces every record in order.
  void SignAndProduce(std::shared_ptr<const std::vector<Outputs::Record>> records,
                      std::function<void(absl::Status)> done, kafka::Producer* producer);
  void Produce(std::shared_ptr<const std::vector<Outputs::Record>> records,
               std::function<void(absl::Status)> done, kafka::Producer* producer);
  // Transactions: a work or a Write handed to the writer.
  void SendInTransaction(const std::shared_ptr<Work>& work) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void WriteInTransaction(const std::shared_ptr<PendingWrite>& write,
                          std::vector<liaison::v1::AuditEntry> audit) ABSL_LOCKS_EXCLUDED(mu_);
  // Transactions: called inside Poll before partitions are given up.
  void BeforeRevoke(const std::vector<kafka::TopicPartition>& partitions) ABSL_LOCKS_EXCLUDED(mu_);
  void Published(const std::vector<FlowEvent>& flow,
                 const std::vector<liaison::v1::HeldDelivery>& held) const;
  void HandleGap(const kafka::Gap& gap);
  std::vector<kafka::Consumer::CommitOffset> CommitsDue() ABSL_LOCKS_EXCLUDED(mu_);

  // Counts and logs a record that does not verify (never acted on).
  void Forged(absl::string_view what, int32_t partition, int64_t offset,
              const absl::Status& why) const;

  const PolicyStageDeps deps_;
  const PlanApplier applier_;
  // Digests of envelopes whose signature verified (cleared when the trust
  // store is swapped, e.g. a CRL reload): deps_.verified_envelopes or, when
  // none was given, own_verified_.
  mutable VerifiedEnvelopes own_verified_;
  VerifiedEnvelopes* const verified_;
  mutable PolicyStageStats stats_;
  std::atomic<int64_t> lag_{0};

  // Deciding and recording a sender's volume happen under one lock per
  // sender stripe, so that two messages decided at once on two threads cannot
  // both pass a DP-BULK-01 cap that only one of them fits under.
  mutable std::array<absl::Mutex, 32> volume_locks_;

  std::unique_ptr<kafka::Consumer> consumer_;
  // Set when writing in transactions (started after consumer_, stopped after
  // the loop).
  std::unique_ptr<TxnWriter> txn_;
  // Where the deliveries landed (liaison.index.deliver, for naming lost
  // messages): written in groups on the embedded mock, and once per
  // transaction on real Kafka (the entries its items added, before it
  // commits).
  std::unique_ptr<RecordBatcher> index_batcher_;
  absl::Mutex txn_index_mu_;
  std::vector<std::string> txn_index_ ABSL_GUARDED_BY(txn_index_mu_);
  // Before a transaction commits: its index entries as records.
  absl::Status WriteTransactionIndex(kafka::Producer& producer) ABSL_LOCKS_EXCLUDED(txn_index_mu_);
  std::atomic<bool> stop_{false};
  std::thread thread_;

  mutable absl::Mutex mu_;
  std::map<int32_t, Partition> partitions_ ABSL_GUARDED_BY(mu_);
  std::map<int32_t, int64_t> committed_ ABSL_GUARDED_BY(mu_);
  int64_t in_flight_ ABSL_GUARDED_BY(mu_) = 0;
};

// The broker's pseudonymiser: HMAC-SHA256 under a network-wide secret.
class HmacPseudonymiser final : public policy::Pseudonymiser {
 public:
  explicit HmacPseudonymiser(std::string secret) : secret_(std::move(secret)) {}
  std::string Ref(std::string_view sender, std::string_view entity_id,
                  std::string_view recipient) const override;

 private:
  const std::string secret_;
};

}  // namespace liaison::broker

#endif  // LIAISON_BROKER_STAGE_POLICY_STAGE_H_

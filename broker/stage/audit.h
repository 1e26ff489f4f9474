// The audit trail (LED art 25, DP-LOG-01): one entry per policy decision,
// written to `liaison.audit` BEFORE anything is forwarded, hash-chained.
//
// There is one chain per ingress partition, written only by the policy-stage
// member that owns that partition, into the audit partition of the same
// number. When a node takes a partition over it reads the last entry of the
// audit partition to continue the chain. Entries are sealed (seq, prev_hash,
// entry_hash) in order; a failed write is retried with the same bytes, so a
// retry can at worst duplicate an entry, which the verifier recognises.
//
// Signed checkpoints (connectors/audit/checkpoint.h): every
// `checkpoint_interval` in which a chain grew, and when a partition is
// released or the node stops, the node signs the chain's acknowledged head
// (the highest seq such that Kafka acknowledged every entry up to it) and
// writes it as an AuditRecord of its own into the chain's partition. Only an
// acknowledged head is signed, so a checkpoint never claims an entry that a
// crash could still lose.
//
// Why in the chain's own partition and not a topic of their own: a
// checkpoint then shares the trail's retention (never deleted), ACLs (only
// brokers write, only the auditor reads), replication and reader, and always
// follows the entries it covers; a separate topic could be trimmed, lost or
// mis-configured on its own and would need its own grants. Tamper-evidence
// against someone who can recreate the whole topic comes from the auditor
// keeping checkpoints outside Kafka (`liaison audit verify --pin`).
#ifndef LIAISON_BROKER_STAGE_AUDIT_H_
#define LIAISON_BROKER_STAGE_AUDIT_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "broker/core/topics.h"
#include "certs/signature.h"
#include "connectors/kafka/client_config.h"
#include "connectors/kafka/producer.h"
#include "liaison/v1/broker_state.pb.h"

namespace liaison::broker {

class AuditLog {
 public:
  // `signer`: the node's broker key (not owned); null: no checkpoints.
  AuditLog(Topics topics, kafka::ClientConfig kafka, kafka::Producer* producer,
           const certs::Signer* signer = nullptr,
           absl::Duration checkpoint_interval = absl::Seconds(10));

  // Reads the chain's last entry from Kafka (a partition newly assigned),
  // skipping checkpoint records. A head not covered by a checkpoint yet (its
  // previous owner stopped before writing one) is checkpointed at the next
  // CheckpointDue.
  absl::Status LoadHead(int32_t chain) ABSL_LOCKS_EXCLUDED(mu_);
  // Checkpoints the chain's acknowledged head if not covered yet (the
  // partition is released), then forgets the chain.
  void DropHead(int32_t chain) ABSL_LOCKS_EXCLUDED(mu_);

  // Writes a signed checkpoint for every chain whose acknowledged head grew
  // and whose last checkpoint is at least checkpoint_interval old. Call it
  // often (the policy stage's loop does); cheap when nothing is due.
  void CheckpointDue(absl::Time now) ABSL_LOCKS_EXCLUDED(mu_);
  // Checkpoints every chain's uncovered acknowledged head now and waits up
  // to `wait` for Kafka's acknowledgement (the node stops). Returns how many
  // checkpoints were acknowledged.
  int CheckpointAll(absl::Duration wait) ABSL_LOCKS_EXCLUDED(mu_);
  // Checkpoints acknowledged by Kafka since start.
  int64_t checkpoints_written() const { return checkpoints_written_.load(); }

  // Entries sealed into one Kafka record (an AuditRecord).
  struct Sealed {
    std::string record;  // serialised liaison.v1.AuditRecord; empty: nothing to write
    int64_t entries = 0;
    uint64_t first_seq = 0;  // the entries' seq range and the last entry_hash
    uint64_t last_seq = 0;
    std::string last_hash;
  };

  // Assigns seq, prev_hash and entry_hash to `entries` in order and returns
  // them serialised as one record. Calls for one chain must come in chain
  // order.
  Sealed Seal(int32_t chain, std::vector<liaison::v1::AuditEntry> entries) ABSL_LOCKS_EXCLUDED(mu_);

  // Writes sealed entries to the chain's partition; `done` runs once with OK
  // when Kafka acknowledged them, or the error (then write them again, the
  // same Sealed: re-sealing would leave the failed seqs as a gap, and the
  // chain's acknowledged head, hence its checkpoints, would stop there).
  //
  // `transaction` set (real Kafka, the policy stage's transactional
  // producer): the record goes into its open transaction and counts as
  // written only when the stage calls Committed after the commit, so that a
  // checkpoint never covers entries of a transaction that may still abort.
  void Write(int32_t chain, Sealed sealed, std::function<void(absl::Status)> done,
             kafka::Producer* transaction = nullptr);
  // `sealed`, written through a transaction, was committed.
  void Committed(int32_t chain, const Sealed& sealed) ABSL_LOCKS_EXCLUDED(mu_);

  // Audit entries (not records) acknowledged by Kafka since start.
  int64_t entries_written() const { return written_.load(); }

 private:
  struct Head {
    uint64_t seq = 0;  // sealed
    std::string hash;
    // Acknowledged by Kafka: every entry up to acked_seq.
    uint64_t acked_seq = 0;
    std::string acked_hash;
    // Acknowledged ranges beyond acked_seq (acks out of order): first -> (last, hash).
    std::map<uint64_t, std::pair<uint64_t, std::string>> acked_ahead;
    uint64_t checkpointed_seq = 0;  // covered by a checkpoint written (or in flight)
    absl::Time checkpointed_at = absl::InfinitePast();
  };
  struct Due {
    int32_t chain = 0;
    liaison::v1::AuditCheckpoint checkpoint;
    uint64_t previous_seq = 0;  // checkpointed_seq before this one
  };
  // Checkpoints to write for `chains` (all when empty) whose acked head is
  // not covered, if `force` or the interval passed; marks them in flight.
  std::vector<Due> Collect(absl::Time now, bool force, const std::vector<int32_t>& chains)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Signs and produces; `done` (may be empty) gets the delivery status.
  void WriteCheckpoints(std::vector<Due> due, std::function<void(absl::Status)> done);
  void Acknowledged(int32_t chain, uint64_t first, uint64_t last, std::string hash)
      ABSL_LOCKS_EXCLUDED(mu_);

  const Topics topics_;
  const kafka::ClientConfig kafka_;
  kafka::Producer* const producer_;
  const certs::Signer* const signer_;
  const absl::Duration checkpoint_interval_;
  absl::Mutex mu_;
  std::map<int32_t, Head> heads_ ABSL_GUARDED_BY(mu_);
  std::atomic<int64_t> written_{0};
  std::atomic<int64_t> checkpoints_written_{0};
};

}  // namespace liaison::broker

#endif  // LIAISON_BROKER_STAGE_AUDIT_H_

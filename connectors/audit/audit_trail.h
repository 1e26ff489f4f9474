// The audit trail's format, shared by the broker (which writes it) and by
// auditors (who read and verify it): how an entry is hashed, and how a
// whole `liaison.audit` topic is checked. Reads Kafka directly: in
// production only the auditor's Kafka principal may read liaison.audit
// (deploy/kafka/acls.sh), as LED art 25(3) limits who may use the logs.
#ifndef LIAISON_CONNECTORS_AUDIT_AUDIT_TRAIL_H_
#define LIAISON_CONNECTORS_AUDIT_AUDIT_TRAIL_H_

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "certs/signature.h"
#include "connectors/kafka/client_config.h"
#include "connectors/kafka/consumer.h"
#include "liaison/v1/broker_state.pb.h"

namespace liaison::audit {

// SHA-256 over the entry's deterministic serialisation with entry_hash cleared.
std::string EntryHash(const liaison::v1::AuditEntry& entry);

// Truncated SHA-256 of (sender, case_ref): lets an auditor group a case's
// entries without the reference appearing in the log. Empty for no case.
std::string CaseRefHash(const std::string& sender, const std::string& case_ref);

// One chain as the verifier found it.
struct ChainReport {
  int32_t chain = 0;
  int64_t entries = 0;  // distinct entries (retried writes counted once)
  uint64_t first_seq = 0;
  uint64_t last_seq = 0;
  // The highest seq a valid signed checkpoint covers and whose head_hash
  // matches the entry there: entries first_seq..checkpointed_seq are pinned
  // by a broker signature. 0: none.
  uint64_t checkpointed_seq = 0;
  absl::Time checkpointed_at = absl::InfinitePast();  // that checkpoint's signed_at
  std::string checkpoint_signer;                      // and its broker (CN)
  int64_t checkpoints = 0;                            // valid checkpoints of the chain
  // Entries after the last checkpoint (normal for the last interval).
  uint64_t uncovered() const {
    const uint64_t covered = std::max(checkpointed_seq, first_seq == 0 ? 0 : first_seq - 1);
    return last_seq > covered ? last_seq - covered : 0;
  }
};

// A problem that casts doubt on entries from_seq..to_seq of one chain (for a
// reader of single entries, e.g. the chain of custody of an evidence item).
// `truncated`: the entries are gone (a checkpoint covers seq to_seq, the
// chain ends at from_seq - 1), so no retained entry is implicated.
struct EntryProblem {
  int32_t chain = 0;
  uint64_t from_seq = 0;
  uint64_t to_seq = 0;
  bool truncated = false;
  std::string what;  // as in Verification::problems
};

// The result of checking a whole audit topic.
struct Verification {
  int64_t entries = 0;
  int64_t duplicates = 0;  // identical re-writes of one entry (retried writes)
  int chains = 0;
  int64_t checkpoints = 0;  // valid signed checkpoints (in the topic and pinned)
  bool ok = true;
  // The first problem found, e.g. "chain 2 seq 17 (partition 2 offset 40):
  // prev_hash does not match entry 16".
  std::string first_break;
  // Every problem found (first_break is the first of them).
  std::vector<std::string> problems;
  // The problems of `problems` that name a chain's entries: an entry whose
  // hash does not recompute (that entry), a prev_hash that does not link
  // (that entry and the one before), two entries with one seq, a gap (the
  // entry after it), a chain rewritten under a checkpoint (every entry up to
  // its seq), a chain truncated below a checkpoint. Refused checkpoints and
  // unreadable records name no entry and are only in `problems`.
  std::vector<EntryProblem> entry_problems;
  // E.g. chains whose first entries were removed by retention.
  std::vector<std::string> notes;
  // Per chain, in chain order.
  std::vector<ChainReport> chain_reports;
  // Per chain, the valid checkpoint covering the highest seq (for an auditor
  // to keep outside Kafka and pass back as VerifyOptions::pinned).
  std::vector<liaison::v1::SignedAuditCheckpoint> latest_checkpoints;
};

struct VerifyOptions {
  absl::Duration timeout = absl::Seconds(60);
  // The verifier's clock (checkpoints signed later than now + 5 min are refused).
  absl::Time now = absl::InfinitePast();  // InfinitePast: absl::Now()
  // Entries not covered by a signed checkpoint whose record was written more
  // than this long ago are a failure (the broker checkpoints every few
  // seconds, so an old uncovered tail was not checkpointed by any broker:
  // written by someone else, or its broker died and no node took over).
  // Zero: only reported.
  absl::Duration uncovered_grace = absl::ZeroDuration();
  // Checkpoints kept outside Kafka (e.g. from an earlier run's
  // latest_checkpoints): checked exactly like those in the topic, so a topic
  // recreated without them is still caught.
  std::vector<liaison::v1::SignedAuditCheckpoint> pinned;
};

// Reads every record of `topic` and checks each chain: seq without gaps,
// prev_hash links, entry_hash recomputes, no two different entries with one
// seq; and every signed checkpoint (audit/checkpoint.h): its signature by a
// valid broker certificate of `verifier`'s trust store, that the chain still
// holds its seq (else: truncated) with its head_hash (else: rewritten after
// the checkpoint). A record that is neither entries nor a checkpoint is a
// failure. Errors (non-OK status) only when the topic cannot be read.
absl::StatusOr<Verification> VerifyTopic(const kafka::ClientConfig& kafka, const std::string& topic,
                                         const certs::Verifier& verifier,
                                         const VerifyOptions& options);

// Every record of `topic`, in partition and offset order (what VerifyTopic
// checks; what `liaison audit export` saves). Errors when the topic cannot
// be read within `timeout`.
absl::StatusOr<std::vector<kafka::Record>> ReadTopic(const kafka::ClientConfig& kafka,
                                                     const std::string& topic,
                                                     absl::Duration timeout);

// The checks of VerifyTopic on records already read: each record's
// partition, offset, timestamp and value, in partition and offset order (the
// topic as VerifyTopic reads it, or a copy an auditor saved). No Kafka; the
// clock is options.now (options.timeout is not used).
Verification VerifyRecords(const std::vector<kafka::Record>& records,
                           const certs::Verifier& verifier, const VerifyOptions& options);

// Every entry of `topic`, ordered by (chain, seq), identical re-writes of
// one entry (retried writes) kept once; checkpoints are left out. No chain
// checks (VerifyTopic does them): what the trail says happened, for tools
// that compare it with what the endpoints saw (tests/history).
absl::StatusOr<std::vector<liaison::v1::AuditEntry>> AllEntries(const kafka::ClientConfig& kafka,
                                                                const std::string& topic,
                                                                absl::Duration timeout);

// The entries about one message, in chain order, duplicates removed.
// `message_id` is the whole id or a unique prefix of it (an exact match
// wins); InvalidArgument naming up to five candidates when a prefix fits
// several messages.
absl::StatusOr<std::vector<liaison::v1::AuditEntry>> EntriesFor(const kafka::ClientConfig& kafka,
                                                                const std::string& topic,
                                                                const std::string& message_id,
                                                                absl::Duration timeout);

}  // namespace liaison::audit

#endif  // LIAISON_CONNECTORS_AUDIT_AUDIT_TRAIL_H_

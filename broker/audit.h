// The audit trail (LED art 25, DP-LOG-01): one entry per policy decision,
// written to `liaison.audit` BEFORE anything is forwarded, hash-chained.
//
// There is one chain per ingress partition, written only by the policy-stage
// member that owns that partition, into the audit partition of the same
// number. When a node takes a partition over it reads the last entry of the
// audit partition to continue the chain. Entries are sealed (seq, prev_hash,
// entry_hash) in order; a failed write is retried with the same bytes, so a
// retry can at worst duplicate an entry, which the verifier recognises.
#ifndef LIAISON_BROKER_AUDIT_H_
#define LIAISON_BROKER_AUDIT_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "broker/topics.h"
#include "connectors/kafka/client_config.h"
#include "connectors/kafka/producer.h"
#include "liaison/v1/broker_state.pb.h"

namespace liaison::broker {

class AuditLog {
 public:
  AuditLog(Topics topics, kafka::ClientConfig kafka, kafka::Producer* producer);

  // Reads the chain's last entry from Kafka (a partition newly assigned).
  absl::Status LoadHead(int32_t chain) ABSL_LOCKS_EXCLUDED(mu_);
  void DropHead(int32_t chain) ABSL_LOCKS_EXCLUDED(mu_);

  // Assigns seq, prev_hash and entry_hash to `entries` in order and returns
  // them serialised. Calls for one chain must come in chain order.
  std::vector<std::string> Seal(int32_t chain, std::vector<liaison::v1::AuditEntry> entries)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Writes sealed entries to the chain's partition; `done` runs once with OK
  // when all are acknowledged, or the first error (then write them again).
  void Write(int32_t chain, std::vector<std::string> sealed,
             std::function<void(absl::Status)> done);

  int64_t entries_written() const { return written_.load(); }

 private:
  struct Head {
    uint64_t seq = 0;
    std::string hash;
  };
  const Topics topics_;
  const kafka::ClientConfig kafka_;
  kafka::Producer* const producer_;
  absl::Mutex mu_;
  std::map<int32_t, Head> heads_ ABSL_GUARDED_BY(mu_);
  std::atomic<int64_t> written_{0};
};

// Hash of an entry: SHA-256 over its serialisation with entry_hash cleared.
std::string AuditEntryHash(const liaison::v1::AuditEntry& entry);

// Truncated SHA-256 of (sender, case_ref): lets an auditor group a case's
// entries without the reference appearing in the log.
std::string CaseRefHash(const std::string& sender, const std::string& case_ref);

// The result of checking a whole audit topic.
struct AuditVerification {
  int64_t entries = 0;
  int64_t duplicates = 0;  // identical re-writes of one entry (retries)
  int chains = 0;
  bool ok = true;
  // The first broken link: "chain 2 seq 17 (partition 2 offset 40): prev_hash
  // does not match entry 16".
  std::string first_break;
  // Chains whose first entries were removed by retention start later.
  std::vector<std::string> notes;
};
// Reads every entry of the audit topic and checks each chain: seq without
// gaps, prev_hash links, entry_hash recomputes.
absl::StatusOr<AuditVerification> VerifyAuditTopic(const kafka::ClientConfig& kafka,
                                                   const std::string& topic,
                                                   absl::Duration timeout);
// Entries about one message id, in chain order.
absl::StatusOr<std::vector<liaison::v1::AuditEntry>> AuditEntriesFor(
    const kafka::ClientConfig& kafka, const std::string& topic, const std::string& message_id,
    absl::Duration timeout);

}  // namespace liaison::broker

#endif  // LIAISON_BROKER_AUDIT_H_

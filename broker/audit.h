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

  // Entries sealed into one Kafka record (an AuditRecord).
  struct Sealed {
    std::string record;  // serialised liaison.v1.AuditRecord; empty: nothing to write
    int64_t entries = 0;
  };

  // Assigns seq, prev_hash and entry_hash to `entries` in order and returns
  // them serialised as one record. Calls for one chain must come in chain
  // order.
  Sealed Seal(int32_t chain, std::vector<liaison::v1::AuditEntry> entries)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Writes sealed entries to the chain's partition; `done` runs once with OK
  // when Kafka acknowledged them, or the error (then write them again).
  void Write(int32_t chain, Sealed sealed, std::function<void(absl::Status)> done);

  // Audit entries (not records) acknowledged by Kafka since start.
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

}  // namespace liaison::broker

#endif  // LIAISON_BROKER_AUDIT_H_

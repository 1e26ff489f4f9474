// The audit trail's format, shared by the broker (which writes it) and by
// auditors (who read and verify it): how an entry is hashed, and how a
// whole `liaison.audit` topic is checked. Reads Kafka directly: in
// production only the auditor's Kafka principal may read liaison.audit
// (deploy/kafka/acls.sh), as LED art 25(3) limits who may use the logs.
#ifndef LIAISON_CONNECTORS_AUDIT_AUDIT_TRAIL_H_
#define LIAISON_CONNECTORS_AUDIT_AUDIT_TRAIL_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "connectors/kafka/client_config.h"
#include "liaison/v1/broker_state.pb.h"

namespace liaison::audit {

// SHA-256 over the entry's deterministic serialisation with entry_hash cleared.
std::string EntryHash(const liaison::v1::AuditEntry& entry);

// Truncated SHA-256 of (sender, case_ref): lets an auditor group a case's
// entries without the reference appearing in the log. Empty for no case.
std::string CaseRefHash(const std::string& sender, const std::string& case_ref);

// The result of checking a whole audit topic.
struct Verification {
  int64_t entries = 0;
  int64_t duplicates = 0;  // identical re-writes of one entry (retried writes)
  int chains = 0;
  bool ok = true;
  // The first broken link, e.g. "chain 2 seq 17 (partition 2 offset 40):
  // prev_hash does not match entry 16".
  std::string first_break;
  // E.g. chains whose first entries were removed by retention.
  std::vector<std::string> notes;
};

// Reads every entry of `topic` and checks each chain: seq without gaps,
// prev_hash links, entry_hash recomputes, no two different entries with one seq.
absl::StatusOr<Verification> VerifyTopic(const kafka::ClientConfig& kafka,
                                         const std::string& topic, absl::Duration timeout);

// The entries about one message id, in chain order, duplicates removed.
absl::StatusOr<std::vector<liaison::v1::AuditEntry>> EntriesFor(const kafka::ClientConfig& kafka,
                                                                const std::string& topic,
                                                                const std::string& message_id,
                                                                absl::Duration timeout);

}  // namespace liaison::audit

#endif  // LIAISON_CONNECTORS_AUDIT_AUDIT_TRAIL_H_

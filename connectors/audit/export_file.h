// A copy of the audit topic kept outside Kafka (`liaison audit export`), read
// back for offline checks (`liaison audit verify --from`, `liaison evidence
// custody --from`). JSON lines: a header line
//   {"format":"liaison-audit-export","version":1,"topic":"liaison.audit"}
// then one line per record, in partition and offset order:
//   {"partition":0,"offset":41,"timestamp":"2026-12-05T08:30:00.123Z","value":"<base64>"}
// `value` is the record's bytes exactly as Kafka holds them (an AuditRecord),
// so every hash recomputes as it would from the topic; the copy needs no
// protection of its own beyond what the chains and signed checkpoints give.
#ifndef LIAISON_CONNECTORS_AUDIT_EXPORT_FILE_H_
#define LIAISON_CONNECTORS_AUDIT_EXPORT_FILE_H_

#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "connectors/kafka/consumer.h"

namespace liaison::audit {

// Writes the header and one line per record. FailedPrecondition when the
// stream fails.
absl::Status WriteExport(const std::string& topic, const std::vector<kafka::Record>& records,
                         std::ostream& out);

// Reads a file WriteExport wrote. NotFound when it cannot be read;
// InvalidArgument naming the file and line for anything else (no header, a
// line that is not such a record, bad base64, offsets out of order).
absl::StatusOr<std::vector<kafka::Record>> ReadExport(const std::string& path);

}  // namespace liaison::audit

#endif  // LIAISON_CONNECTORS_AUDIT_EXPORT_FILE_H_

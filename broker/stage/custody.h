// The chain of custody of JIT evidence items (docs/evidence.md, "Chain of
// custody"): what a front-door node observed (an EvidenceEvent it signed)
// becomes audit entries naming the item (AuditEntry.evidence) and what
// happened to it (AuditEntry.custody). Pure: no I/O, no clock.
#ifndef LIAISON_BROKER_STAGE_CUSTODY_H_
#define LIAISON_BROKER_STAGE_CUSTODY_H_

#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "liaison/v1/broker_state.pb.h"
#include "liaison/v1/evidence.pb.h"

namespace liaison::broker {

// The custody entries of `event`, stamped `now` by `broker_id`:
// - UPLOADED: "evidence-uploaded" (COLLECTION, sender = uploader, custody
//   chunk count and size), then one "evidence-key-wrapped" (COLLECTION,
//   recipient = the member) per member a data key was wrapped for;
// - DOWNLOAD_STARTED / DOWNLOAD_FINISHED: "evidence-download-started" /
//   "evidence-download-finished" (DISCLOSURE, recipient = the member,
//   custody from_chunk and, finished, chunks_sent);
// - ACKNOWLEDGED: "evidence-acknowledged" (DISCLOSURE, recipient = the
//   member, the ref's sha256 = the plaintext digest the member verified).
// InvalidArgument naming the field when the event cannot be recorded: no
// type, a malformed item id, no ciphertext digest of 32 bytes, no member
// (or, except for UPLOADED, more than one).
absl::StatusOr<std::vector<liaison::v1::AuditEntry>> CustodyEntries(
    const liaison::v1::EvidenceEvent& event, absl::string_view broker_id, absl::Time now);

}  // namespace liaison::broker

#endif  // LIAISON_BROKER_STAGE_CUSTODY_H_

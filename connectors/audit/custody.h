// The chain of custody of one JIT evidence item (docs/evidence.md), read from
// the audit trail the way an evidence officer or a defence lawyer checks it.
// Pure: takes the records of `liaison.audit` and the Verification
// VerifyRecords made of them (the hash chains and signed checkpoints are
// checked there, not here), no Kafka, no clock.
#ifndef LIAISON_CONNECTORS_AUDIT_CUSTODY_H_
#define LIAISON_CONNECTORS_AUDIT_CUSTODY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "connectors/audit/audit_trail.h"
#include "connectors/kafka/consumer.h"
#include "liaison/v1/broker_state.pb.h"

namespace liaison::audit {

// The custody entries the policy stage writes (AuditEntry.event); an entry
// of a manifest's policy decision naming the item is a kDecision.
enum class CustodyEvent {
  kUploaded,          // "evidence-uploaded": sender = uploader
  kKeyWrapped,        // "evidence-key-wrapped": recipient = member
  kDecision,          // a decision entry of the EVIDENCE_MANIFEST: recipient
  kDownloadStarted,   // "evidence-download-started": recipient
  kDownloadFinished,  // "evidence-download-finished": recipient
  kDownloadRefused,   // "evidence-download-refused": recipient; after the erasure
  kAcknowledged,      // "evidence-acknowledged": recipient
  kErased,            // "evidence-erased": every key destroyed
  kKeyDestroyed,      // "evidence-key-destroyed": one member's key
  kJitExtended,       // "evidence-jit-extended"
  kOther,             // another "evidence-..." entry naming the item
};
const char* CustodyEventName(CustodyEvent event);

// One entry of the chain, with where it sits in the audit trail.
struct CustodyEntry {
  liaison::v1::AuditEntry entry;
  CustodyEvent event = CustodyEvent::kOther;
  // Who: the uploader for kUploaded, else the recipient (empty for the
  // item as a whole: erasure, JIT extension).
  std::string member;
  // The ref naming the item (the entry's evidence[] element).
  liaison::v1::EvidenceRef ref;
  // Matched by ciphertext digest only: the entry names another item id.
  bool other_item_id = false;
  // Its hash recomputes and links to its neighbours (no entry problem of
  // the verification names it).
  bool chain_intact = true;
  std::string chain_problem;  // the first problem naming it
  // A valid signed checkpoint covers it with the chain intact from the
  // entry to the checkpoint's seq.
  bool checkpointed = false;
  uint64_t checkpointed_seq = 0;
  absl::Time checkpointed_at = absl::InfinitePast();
  std::string checkpoint_signer;
};

struct CustodyFinding {
  enum class Kind {
    kViolation,  // the chain of custody does not hold
    kRemark,     // to be seen, not a violation (e.g. a download broken off)
  };
  Kind kind = Kind::kViolation;
  // The entry it is about: its index in Custody::entries, or -1 for the
  // chain as a whole.
  int entry = -1;
  std::string reason;
};

struct Custody {
  std::string item_id;
  std::string jit_id;
  std::string ciphertext_sha256;  // the upload's (raw bytes)
  std::string sha256;             // the plaintext digest of the first entry carrying one
  // In time order across chains and seq order within one (a chain's times
  // come from whichever node held its partition), duplicates removed.
  std::vector<CustodyEntry> entries;
  std::vector<CustodyFinding> findings;
  bool ok() const;  // no violation
  int violations() const;
};

// The entries naming `item` (an item id, or the ciphertext SHA-256 in hex:
// 64 characters) in `records`, and the findings of these checks:
// - one upload; every entry carries the upload's ciphertext digest, the same
//   plaintext digest where it carries one, and the same JIT;
// - the upload comes before any key wrap, download or acknowledgement;
// - a download (started) only by a member a key was wrapped for, after an
//   ALLOW or REDACT decision of a manifest naming the item for that member
//   (the latest decision for the member counts; one timed at most 5 s after
//   the download, on another chain, is a remark: the nodes' clocks differ),
//   and not after that member's key was destroyed;
// - each download-started has its finished (else a remark: broken off), a
//   finished follows a started by the same member;
// - an acknowledgement only after a finished download by that member;
// - nothing disclosed (no download, acknowledgement, key wrap) after the
//   erasure; an erasure for ALL_ACKNOWLEDGED only once every member the key
//   was wrapped for and the policy did not refuse acknowledged;
// - each entry's chain position intact (else a violation naming the
//   verification's problem), a chain holding the item's entries not
//   truncated; entries no checkpoint covers yet, and problems elsewhere in
//   the trail, are remarks.
// NotFound when no entry names the item; InvalidArgument for an empty item.
absl::StatusOr<Custody> CustodyOf(const std::vector<kafka::Record>& records,
                                  const Verification& verification, const std::string& item);

}  // namespace liaison::audit

#endif  // LIAISON_CONNECTORS_AUDIT_CUSTODY_H_

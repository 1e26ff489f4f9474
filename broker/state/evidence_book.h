// The JIT evidence books of a broker node (docs/evidence.md), materialised
// from three compacted topics: complete items (`liaison.evidence.items`, key
// item id), wrapped data keys (`liaison.evidence.keys`) and download grants
// (`liaison.evidence.grants`, both keyed "<item id>/<recipient>"). A
// tombstone removes the entry (erasing a key is crypto-shredding). Records
// that do not decode, or whose key does not match their content, are
// skipped with a log line and counted. Thread-safe.
//
// Only metadata and wrapped keys are held here, never a chunk: an item of
// 2 GiB costs its 2,048 chunk offsets.
#ifndef LIAISON_BROKER_STATE_EVIDENCE_BOOK_H_
#define LIAISON_BROKER_STATE_EVIDENCE_BOOK_H_

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>
#include "absl/strings/string_view.h"

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "connectors/kafka/consumer.h"
#include "liaison/v1/evidence.pb.h"
#include "liaison/v1/message.pb.h"

namespace liaison::broker {

// Longest item id the broker accepts; ids are 1..128 of [A-Za-z0-9._:-] so
// that "<item id>/<recipient>" keys are unambiguous.
inline constexpr size_t kMaxEvidenceItemIdChars = 128;
// InvalidArgument "<field>: ..." naming what is wrong with `item_id`.
absl::Status CheckEvidenceItemId(absl::string_view item_id, absl::string_view field);

// An upload is completed only if its first chunk was written at most this
// long ago (wall time, the clock of Kafka's record timestamps); an older one
// is refused and starts again from chunk 0. The evidence keeper deletes no
// chunk record younger than this plus a margin (the upload horizon), so the
// chunks of an upload in progress, which no item record names yet, are
// never deleted (docs/evidence.md, "Deleting chunk records").
inline constexpr absl::Duration kEvidenceUploadMaxAge = absl::Hours(24);

// "<item id>/<recipient>": the key of a wrapped key or a grant record.
std::string EvidenceRecordKey(absl::string_view item_id, absl::string_view recipient);

// Why an item was erased, in words ("every member it was wrapped for
// acknowledged it ..."), for statuses and notices.
std::string ErasureReasonText(liaison::v1::EvidenceErasureReason reason);

struct KeyedRecord {
  std::string key;
  std::string value;
};

// The record the policy stage writes to `liaison.evidence.grants` when it
// delivers an EVIDENCE_MANIFEST (message `manifest_message_id`, of JIT
// `jit_id`) to `recipient` with ALLOW or REDACT: one per item of the
// manifest, `item` being the manifest's entry. `erase_by` is the manifest's
// retention.erase_by (absl::InfiniteFuture(): none), when the item goes at
// the latest. Pure.
KeyedRecord BuildEvidenceGrantRecord(const liaison::v1::EvidenceItem& item,
                                     absl::string_view recipient, absl::string_view jit_id,
                                     absl::string_view manifest_message_id, absl::Time now,
                                     absl::Time erase_by = absl::InfiniteFuture());

class EvidenceBook {
 public:
  // One record of each topic (from the mirror). InvalidArgument (also logged
  // as "evidence.record_skipped" and counted) when it does not decode or its
  // key is not the one its content implies.
  absl::Status ApplyItem(const kafka::Record& record) ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status ApplyKey(const kafka::Record& record) ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status ApplyGrant(const kafka::Record& record) ABSL_LOCKS_EXCLUDED(mu_);

  // Records this node wrote and Kafka acknowledged: in force at once,
  // before the mirror reads them back (applying one twice changes nothing).
  // An item's erasure and its mark for erasure (erasure_pending) stay once
  // applied: an older record of the item applied after them keeps them.
  void ApplyWrittenItem(const liaison::v1::EvidenceItemRecord& item) ABSL_LOCKS_EXCLUDED(mu_);
  void ApplyWrittenKey(const liaison::v1::EvidenceKeyRecord& key) ABSL_LOCKS_EXCLUDED(mu_);
  void ApplyWrittenGrant(const liaison::v1::EvidenceGrant& grant) ABSL_LOCKS_EXCLUDED(mu_);

  std::optional<liaison::v1::EvidenceItemRecord> Item(absl::string_view item_id) const
      ABSL_LOCKS_EXCLUDED(mu_);
  std::optional<liaison::v1::EvidenceGrant> Grant(absl::string_view item_id,
                                                  absl::string_view recipient) const
      ABSL_LOCKS_EXCLUDED(mu_);
  // The grants of `recipient`, by item id.
  std::vector<liaison::v1::EvidenceGrant> GrantsFor(absl::string_view recipient) const
      ABSL_LOCKS_EXCLUDED(mu_);
  // Every item record (complete items, erased ones included), by item id.
  std::vector<liaison::v1::EvidenceItemRecord> Items() const ABSL_LOCKS_EXCLUDED(mu_);
  // The grants of item `item_id`, by recipient.
  std::vector<liaison::v1::EvidenceGrant> GrantsOf(absl::string_view item_id) const
      ABSL_LOCKS_EXCLUDED(mu_);
  // The recipients holding a wrapped key of `item_id`, sorted.
  std::vector<std::string> KeyRecipients(absl::string_view item_id) const ABSL_LOCKS_EXCLUDED(mu_);
  std::optional<std::string> WrappedKey(absl::string_view item_id,
                                        absl::string_view recipient) const ABSL_LOCKS_EXCLUDED(mu_);

  int64_t skipped() const { return skipped_.load(); }

 private:
  absl::Status Skip(const kafka::Record& record, absl::Status why);

  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, liaison::v1::EvidenceItemRecord> items_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::string> keys_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, liaison::v1::EvidenceGrant> grants_ ABSL_GUARDED_BY(mu_);
  std::atomic<int64_t> skipped_{0};
};

}  // namespace liaison::broker

#endif  // LIAISON_BROKER_STATE_EVIDENCE_BOOK_H_

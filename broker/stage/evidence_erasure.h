// When a JIT evidence item is erased, and what erasing it writes
// (docs/evidence.md, "Erasure"). Pure: time, registry figures and the
// node's evidence book arrive as plain input; nothing here reads a clock,
// signs or talks to Kafka. The evidence keeper (evidence_keeper.h) calls
// these on the node that owns the item's audit chain and writes the result
// through the policy stage.
#ifndef LIAISON_BROKER_STAGE_EVIDENCE_ERASURE_H_
#define LIAISON_BROKER_STAGE_EVIDENCE_ERASURE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "broker/core/topics.h"
#include "broker/stage/outputs.h"
#include "liaison/v1/broker_state.pb.h"
#include "liaison/v1/evidence.pb.h"

namespace liaison::broker {

// The registry's evidence_retention (policy::Registry::EvidenceMaxAge,
// EvidenceAfterJitEnd).
struct EvidenceRetentionLimits {
  absl::Duration max_age = absl::Hours(24 * 28);
  absl::Duration after_jit_end = absl::ZeroDuration();
};

struct EvidenceErasureDue {
  liaison::v1::EvidenceErasureReason reason = liaison::v1::EVIDENCE_ERASURE_REASON_UNSPECIFIED;
  absl::Time due;
};

// The members that must acknowledge `item` before it goes: those it was
// wrapped for (`wrapped_for`; the key holders for a record without it),
// less the uploader and less those whose key is gone (`key_recipients` is
// who still holds one: the policy stage destroys the key of a member it
// REJECTs for the item's manifest). Sorted.
std::vector<std::string> IntendedMembers(const liaison::v1::EvidenceItemRecord& item,
                                         const std::vector<std::string>& key_recipients);

// When `item` is to be erased, and why: the earliest of
//  - ALL_ACKNOWLEDGED: every intended member's grant (in `grants`) carries
//    acknowledged_at (due: the last acknowledgement; never with no intended
//    member left: then every key is already destroyed, or this node has not
//    read them yet, and the other limits apply);
//  - ERASE_BY: the earliest erase_by of its grants (the manifests'
//    retention.erase_by);
//  - JIT_ENDED: `jit_end` (the registry's current end of the item's JIT;
//    nullopt: the record's jit_end, if any) + limits.after_jit_end;
//  - MAX_AGE: completed_at + limits.max_age.
// On a tie the first in that order wins.
EvidenceErasureDue ErasureDueOf(const liaison::v1::EvidenceItemRecord& item,
                                const std::vector<liaison::v1::EvidenceGrant>& grants,
                                const std::vector<std::string>& key_recipients,
                                std::optional<absl::Time> jit_end,
                                const EvidenceRetentionLimits& limits);

// The erasure of `item` at `now` (due as computed above): tombstones on
// the wrapped keys (`key_recipients` and wrapped_for) and on every grant,
// the item record rewritten with its `erasure`, one ERASURE audit entry
// "evidence-erased", and the unsigned EVIDENCE_ERASED notices to every
// member granted the item and to the uploader (each once).
struct EvidenceErasurePlan {
  liaison::v1::EvidenceItemRecord erased;  // the record as rewritten
  liaison::v1::AuditEntry audit;
  std::vector<Outputs::Record> records;
  std::vector<liaison::v1::Notice> notices;
};
EvidenceErasurePlan PlanEvidenceErasure(const liaison::v1::EvidenceItemRecord& item,
                                        const std::vector<liaison::v1::EvidenceGrant>& grants,
                                        const std::vector<std::string>& key_recipients,
                                        const EvidenceErasureDue& due, absl::Time now,
                                        const Topics& topics, absl::string_view broker_id);

// The registry moved the end of a live item's JIT: the record rewritten with
// the new jit_end and a RETENTION custody entry "evidence-jit-extended".
// nullopt when nothing changed (or the record has no jit_end to compare).
struct EvidenceJitChange {
  liaison::v1::EvidenceItemRecord updated;
  liaison::v1::AuditEntry audit;
  Outputs::Record record;
};
std::optional<EvidenceJitChange> PlanJitChange(const liaison::v1::EvidenceItemRecord& item,
                                               absl::Time registry_jit_end, absl::Time now,
                                               const Topics& topics, absl::string_view broker_id);

// A member's acknowledgement recorded on its grant (acknowledged_at = `at`),
// for `liaison.evidence.grants`. nullopt when there is nothing to write: no
// grant (never granted, or tombstoned by an erasure), the item erased, or
// the grant already acknowledged.
std::optional<Outputs::Record> AcknowledgedGrantRecord(
    const std::optional<liaison::v1::EvidenceGrant>& grant,
    const std::optional<liaison::v1::EvidenceItemRecord>& item, absl::Time at,
    const Topics& topics);

// How far partition `partition` of the chunk topic (`liaison.evidence`) may
// be deleted (docs/evidence.md, "Deleting chunk records"). Kafka's
// DeleteRecords removes everything below one offset, and the chunks of
// several items are interleaved in a partition, so the bound is the lowest
// of:
//  - the lowest chunk offset of every live item of `items` (no `erasure`)
//    whose chunks are in `partition` (a negative offset, which no complete
//    item has, counts as 0: such an item blocks the partition);
//  - `upload_horizon`: the first offset of the partition written within
//    the upload horizon, where the chunks of uploads still in progress
//    (no item record yet, on any node) may be.
// Erased items, and items of other partitions, do not hold anything back.
// `live_item` names the live item that sets the bound (empty: the upload
// horizon alone does; on a tie the live item is named).
struct ChunkDeletionBound {
  int64_t before = 0;  // records below this offset may be deleted
  std::string live_item;
};
ChunkDeletionBound ChunkDeletionBoundOf(int32_t partition,
                                        const std::vector<liaison::v1::EvidenceItemRecord>& items,
                                        int64_t upload_horizon);

}  // namespace liaison::broker

#endif  // LIAISON_BROKER_STAGE_EVIDENCE_ERASURE_H_

// The case-linkage index a broker node holds in memory: blinded identifier
// values (32-byte HMACs, never cleartext) of numbered key epochs, each with
// the entries that published it (owner endpoint, opaque owner case handle,
// identifier kind, expiry). It answers "who holds these values?" for a
// linkage query and counts entries per (endpoint, epoch) for operators. It
// never sees the linkage key or a cleartext identifier.
//
// Pure data structure: no Kafka, gRPC, clock or I/O; time is an argument.
// Not thread-safe: the broker serialises calls (one writer applying the
// compacted topic, queries under the same lock).
//
// Memory (tests/bench/linkage_bench.cc measures it): per distinct value one
// 44-byte record (the value and its first entry inline) and a 4-byte hash
// slot (load 3/8 to 3/4); 20 bytes per further entry of the same value;
// handles interned once (bytes + 12-byte record + 4-byte slot + 4 bytes per
// epoch). Removal marks entries dead; Compact() reclaims them.
//
// The compacted topic (one record per entry) uses the format of
// EncodeRecordKey / EncodeRecordValue below; ApplyRecord replays it.
#ifndef LIAISON_BROKER_STATE_LINKAGE_INDEX_H_
#define LIAISON_BROKER_STATE_LINKAGE_INDEX_H_

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace liaison::broker {

// Identifier kinds, numbered as liaison.v1.IdentifierType (1 phone, 2 IBAN,
// 3 VIN, 4 travel document, 5 name + date of birth, 6 e-mail, 8 vehicle
// plate). 7 (PERSON_NAME, cleartext) and anything else are refused.
bool IsLinkageKind(uint8_t kind);

// OK for a 32-byte value that is not all printable text (an HMAC);
// InvalidArgument "<field>: 12 bytes; a blinded value is 32 bytes" or
// "<field>: looks like cleartext, not an HMAC" otherwise. The one check of a
// blinded value: the index and the front door's publisher call it.
absl::Status CheckBlindedValue(absl::string_view field, absl::string_view value);

struct LinkageIndexOptions {
  // An entry's expiry may lie at most this far after `now` when published.
  absl::Duration max_retention = absl::Hours(24 * 365);
};

// One answer to a looked-up value: who holds it under which handle.
struct LinkageHitEntry {
  int index = 0;  // position of the value in the query
  std::string owner;
  std::string handle;
  uint8_t kind = 0;
};

// What the compacted topic's records say (see EncodeRecordKey).
struct LinkageRecord {
  uint32_t epoch = 0;
  std::array<uint8_t, 32> value{};
  std::string owner;
  std::string handle;
  // Absent: a tombstone (the entry was withdrawn).
  std::optional<std::pair<uint8_t, absl::Time>> kind_expiry;
};

class LinkageIndex {
 public:
  static constexpr size_t kValueBytes = 32;
  static constexpr int kMaxQueryValues = 20;

  explicit LinkageIndex(LinkageIndexOptions options = {});
  ~LinkageIndex();
  LinkageIndex(const LinkageIndex&) = delete;
  LinkageIndex& operator=(const LinkageIndex&) = delete;

  // Adds the entry (epoch, value, owner, handle) or renews its kind and
  // expiry. Checks, in this order (nothing is stored on error):
  //  InvalidArgument "linkage.value: ..." if not 32 bytes or all printable
  //    ASCII (cleartext, not an HMAC); "linkage.kind: ..." unknown kind;
  //    "linkage.owner" / "linkage.handle" empty, longer than 64 bytes or with
  //    bytes outside printable ASCII; "linkage.epoch" 0;
  //    "linkage.expiry: ..." at or before `now`, or more than max_retention
  //    after it;
  //  FailedPrecondition "linkage.epoch N is retired";
  //  PermissionDenied "linkage.handle belongs to another endpoint" if the
  //    handle has entries of another owner (handles are network-unique).
  absl::Status Upsert(uint32_t epoch, absl::string_view value, absl::string_view owner,
                      absl::string_view handle, uint8_t kind, absl::Time expiry, absl::Time now);

  // Withdraws every entry of (owner, handle) in every epoch; returns the
  // (epoch, value) pairs withdrawn, so the caller can write one tombstone
  // each. An unknown handle or another owner's handle withdraws nothing.
  std::vector<std::pair<uint32_t, std::array<uint8_t, 32>>> WithdrawCase(absl::string_view owner,
                                                                         absl::string_view handle);
  // The (epoch, value) of every live entry of (owner, handle), as
  // WithdrawCase would withdraw them, without changing anything: what a
  // withdrawal must write tombstones for before it is applied.
  std::vector<std::pair<uint32_t, std::array<uint8_t, 32>>> CaseValues(
      absl::string_view owner, absl::string_view handle) const;
  // The endpoint whose entries use `handle`; nullopt when no entry uses it.
  std::optional<std::string> HandleOwner(absl::string_view handle) const;

  // Withdraws one entry; false if it was not there.
  bool Withdraw(uint32_t epoch, absl::string_view value, absl::string_view owner,
                absl::string_view handle);

  // Drops every entry of `epoch` and refuses it from now on (Upsert,
  // Lookup). Returns the number of live entries dropped.
  int64_t RetireEpoch(uint32_t epoch);
  bool IsRetired(uint32_t epoch) const { return retired_.contains(epoch); }

  // For each of at most 20 values: the live entries (expiry after `now`) of
  // owners in `allowed_owners` (the endpoints the querier may query).
  // InvalidArgument if more than 20 values or one is not 32 bytes;
  // FailedPrecondition if the epoch is retired. An epoch never published
  // answers no-hit. Hits are ordered by query position, then owner, then
  // handle.
  absl::StatusOr<std::vector<LinkageHitEntry>> Lookup(
      uint32_t epoch, const std::vector<std::string>& values,
      const absl::flat_hash_set<std::string>& allowed_owners, absl::Time now) const;

  // Marks dead the entries whose expiry is at or before `now`, visiting at
  // most `max_values` value records from where the previous call stopped
  // (round robin over epochs). Returns the number of entries purged.
  int64_t PurgeExpired(absl::Time now, int64_t max_values);

  // Rebuilds the arrays without dead entries (allocates the new arrays
  // before freeing the old: a transient second copy of the live data).
  void Compact();

  // Live entries per (owner, epoch): what operators see (counts only).
  // Entries past expiry count until PurgeExpired reaches them.
  std::map<std::pair<std::string, uint32_t>, int64_t> Counts() const;
  int64_t LiveEntries() const { return live_; }
  int64_t DeadEntries() const { return dead_; }
  // Bytes held by the index's arrays and interned strings, counted from
  // their capacities (independent of the allocator).
  size_t MemoryBytes() const;

  // Applies one record of the compacted topic: an upsert, or a withdrawal
  // for a tombstone. Records whose entry has expired at `now` are withdrawn
  // rather than stored (the expiry check of Upsert would refuse them); an
  // expiry beyond the retention limit (clocks that disagree) is cut to it.
  // Errors as Upsert (a record of a retired epoch: FailedPrecondition).
  absl::Status ApplyRecord(const LinkageRecord& record, absl::Time now);

  struct Epoch;

 private:
  struct Handle {
    uint32_t text_offset;  // into handle_text_
    uint16_t owner;
    uint8_t length;
    uint8_t unused = 0;
    uint32_t entries;  // live and dead entries in all epochs
  };
  static_assert(sizeof(Handle) == 12);

  absl::Status Insert(uint32_t epoch, const uint8_t* value, uint16_t owner, uint32_t handle,
                      uint8_t kind, uint32_t expiry);
  std::optional<uint32_t> FindHandle(absl::string_view text) const;
  uint32_t InternHandle(absl::string_view text, uint16_t owner);
  absl::string_view HandleText(uint32_t id) const;
  uint16_t InternOwner(absl::string_view owner);
  Epoch* FindEpoch(uint32_t epoch) const;
  void CountLive(uint16_t owner, uint32_t epoch, int64_t delta);

  const LinkageIndexOptions options_;
  std::vector<std::string> owners_;
  absl::flat_hash_map<std::string, uint16_t> owner_ids_;
  // Interned handles: their bytes back to back, records by id, and an
  // open-addressing table of id + 1 (0 = empty).
  std::vector<std::unique_ptr<char[]>> handle_text_chunks_;
  size_t handle_text_used_ = 0;  // bytes used in the last chunk
  std::vector<Handle> handles_;
  std::vector<uint32_t> handle_slots_;
  std::map<uint32_t, std::unique_ptr<Epoch>> epochs_;
  absl::flat_hash_set<uint32_t> retired_;
  // Live entries by (owner id, epoch).
  absl::flat_hash_map<uint64_t, int64_t> counts_;
  int64_t live_ = 0;
  int64_t dead_ = 0;
  // PurgeExpired's position: epoch and value record.
  uint32_t purge_epoch_ = 0;
  uint32_t purge_value_ = 0;
};

// Compacted-topic record key (binary, big-endian):
//   u8 version = 1 | u32 epoch | 32-byte value | u8 owner length | owner |
//   handle (the rest).
// One key per entry, so compaction keeps each entry's last state.
std::string EncodeRecordKey(uint32_t epoch, absl::string_view value, absl::string_view owner,
                            absl::string_view handle);
// Record value: u8 version = 1 | u8 kind | i64 expiry (Unix seconds). A
// withdrawal is a tombstone (null value).
std::string EncodeRecordValue(uint8_t kind, absl::Time expiry);
// InvalidArgument naming the part that is malformed. `value` nullopt = a
// tombstone.
absl::StatusOr<LinkageRecord> DecodeRecord(absl::string_view key,
                                           std::optional<absl::string_view> value);

}  // namespace liaison::broker

#endif  // LIAISON_BROKER_STATE_LINKAGE_INDEX_H_

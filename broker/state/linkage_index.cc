#include "broker/state/linkage_index.h"

#include <algorithm>
#include <cstring>
#include <tuple>

#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"

namespace liaison::broker {
namespace {

constexpr uint32_t kNone = 0xFFFFFFFFu;
constexpr uint32_t kOverflow = 0x80000000u;  // entry ref: an overflow entry
constexpr uint32_t kMaxHandles = 1u << 27;   // handle id shares 32 bits with flag and kind
constexpr uint32_t kHasOverflow = 0x10;      // a value's inline entry: more in overflow
constexpr size_t kMaxName = 68;              // "LNK-" + 64
constexpr size_t kHandleTextChunk = 1 << 20;

// One entry; kind 0 marks it dead (withdrawn or expired) while it stays in
// its chains, so that the same handle can revive it.
struct Entry {           // 12 bytes
  uint32_t bits;         // handle id << 5 | kHasOverflow | kind
  uint32_t expiry;       // Unix seconds
  uint32_t next_handle;  // next entry of the same handle in this epoch (ref), or kNone
  uint32_t handle() const { return bits >> 5; }
  uint8_t kind() const { return bits & 0xF; }
  bool live() const { return kind() != 0; }
  void Set(uint32_t handle, uint8_t k) { bits = handle << 5 | (bits & kHasOverflow) | k; }
};
// A distinct value with its first entry inline. Most values have one entry;
// the others keep the rest in overflow (kHasOverflow).
struct ValueRec {  // 44 bytes
  std::array<uint8_t, 32> value;
  Entry first;
};
// A further entry of a value (several owners, or one owner's several cases).
struct OverflowEntry {  // 20 bytes
  Entry entry;
  uint32_t next_value;  // next overflow entry of the same value (ref), or kNone
  uint32_t value;       // index of its ValueRec
};
static_assert(sizeof(Entry) == 12 && sizeof(ValueRec) == 44 && sizeof(OverflowEntry) == 20);

// A growable array in fixed chunks: no doubling, so at most one chunk is
// ever unused, and growing never copies.
template <typename T>
class Chunked {
 public:
  static constexpr size_t kShift = 16;
  static constexpr size_t kChunk = size_t{1} << kShift;
  T& operator[](size_t i) { return chunks_[i >> kShift][i & (kChunk - 1)]; }
  const T& operator[](size_t i) const { return chunks_[i >> kShift][i & (kChunk - 1)]; }
  size_t size() const { return size_; }
  size_t push_back(const T& v) {
    if (size_ == chunks_.size() * kChunk) chunks_.emplace_back(new T[kChunk]);
    (*this)[size_] = v;
    return size_++;
  }
  size_t bytes() const {
    return chunks_.size() * kChunk * sizeof(T) + chunks_.capacity() * sizeof(chunks_[0]);
  }

 private:
  std::vector<std::unique_ptr<T[]>> chunks_;
  size_t size_ = 0;
};

size_t HashValue(const uint8_t* v) {
  return absl::Hash<absl::string_view>()(
      absl::string_view(reinterpret_cast<const char*>(v), LinkageIndex::kValueBytes));
}

bool Printable(absl::string_view s) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x21 || u > 0x7e) return false;
  }
  return true;
}

absl::Status CheckName(absl::string_view field, absl::string_view s) {
  if (s.empty() || s.size() > kMaxName || !Printable(s)) {
    return absl::InvalidArgumentError(absl::StrCat("linkage.", field, ": empty, longer than ",
                                                   kMaxName, " bytes or not printable ASCII"));
  }
  return absl::OkStatus();
}

const uint8_t* Bytes(absl::string_view s) { return reinterpret_cast<const uint8_t*>(s.data()); }

uint32_t UnixSeconds(absl::Time t) {
  const int64_t s = absl::ToUnixSeconds(t);
  return static_cast<uint32_t>(std::clamp<int64_t>(s, 0, 0xFFFFFFFEll));
}

void PutU32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}
uint64_t GetBig(absl::string_view s, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = v << 8 | static_cast<unsigned char>(s[at + i]);
  return v;
}

}  // namespace

absl::Status CheckBlindedValue(absl::string_view field, absl::string_view v) {
  if (v.size() != LinkageIndex::kValueBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": ", v.size(), " bytes; a blinded value is 32 bytes"));
  }
  bool printable = true;
  for (char c : v) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u > 0x7e) printable = false;
  }
  if (printable) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": looks like cleartext, not an HMAC"));
  }
  return absl::OkStatus();
}

bool IsLinkageKind(uint8_t kind) { return (kind >= 1 && kind <= 6) || kind == 8; }

struct LinkageIndex::Epoch {
  uint32_t number = 0;
  Chunked<ValueRec> values;
  Chunked<OverflowEntry> overflow;
  // Open addressing, linear probing: value index + 1, 0 = empty. Load at
  // most 3/4; the power-of-two size doubles beyond.
  std::vector<uint32_t> slots;
  // By handle id: this epoch's first entry of the handle (ref), or kNone.
  std::vector<uint32_t> handle_heads;
  // The first overflow entry of each value that has one.
  absl::flat_hash_map<uint32_t, uint32_t> overflow_heads;

  Entry& At(uint32_t ref) {
    return (ref & kOverflow) ? overflow[ref & ~kOverflow].entry : values[ref].first;
  }
  const Entry& At(uint32_t ref) const {
    return (ref & kOverflow) ? overflow[ref & ~kOverflow].entry : values[ref].first;
  }
  // The next entry of the same value, or kNone.
  uint32_t NextOf(uint32_t ref) const {
    if (ref & kOverflow) return overflow[ref & ~kOverflow].next_value;
    if (!(values[ref].first.bits & kHasOverflow)) return kNone;
    return overflow_heads.at(ref);
  }
  uint32_t ValueOf(uint32_t ref) const {
    return (ref & kOverflow) ? overflow[ref & ~kOverflow].value : ref;
  }

  uint32_t Find(const uint8_t* v) const {
    if (slots.empty()) return kNone;
    const size_t mask = slots.size() - 1;
    for (size_t i = HashValue(v) & mask;; i = (i + 1) & mask) {
      const uint32_t s = slots[i];
      if (s == 0) return kNone;
      if (std::memcmp(values[s - 1].value.data(), v, kValueBytes) == 0) return s - 1;
    }
  }

  void Place(uint32_t index) {
    const size_t mask = slots.size() - 1;
    size_t i = HashValue(values[index].value.data()) & mask;
    while (slots[i] != 0) i = (i + 1) & mask;
    slots[i] = index + 1;
  }

  // The new value's index, its first entry left for the caller to fill.
  uint32_t Add(const uint8_t* v) {
    if ((values.size() + 1) * 4 > slots.size() * 3) {
      slots.assign(std::max<size_t>(1024, slots.size() * 2), 0);
      for (uint32_t i = 0; i < values.size(); ++i) Place(i);
    }
    ValueRec rec;
    std::memcpy(rec.value.data(), v, kValueBytes);
    const auto index = static_cast<uint32_t>(values.push_back(rec));
    Place(index);
    return index;
  }

  uint32_t& Head(uint32_t handle) {
    if (handle >= handle_heads.size()) handle_heads.resize(handle + 1, kNone);
    return handle_heads[handle];
  }

  size_t bytes() const {
    return sizeof(*this) + values.bytes() + overflow.bytes() + slots.capacity() * 4 +
           handle_heads.capacity() * 4 + overflow_heads.capacity() * (8 + 1);
  }
};

LinkageIndex::LinkageIndex(LinkageIndexOptions options) : options_(options) {}
LinkageIndex::~LinkageIndex() = default;

uint16_t LinkageIndex::InternOwner(absl::string_view owner) {
  const auto it = owner_ids_.find(owner);
  if (it != owner_ids_.end()) return it->second;
  const auto id = static_cast<uint16_t>(owners_.size());
  owners_.emplace_back(owner);
  owner_ids_.emplace(std::string(owner), id);
  return id;
}

absl::string_view LinkageIndex::HandleText(uint32_t id) const {
  const Handle& h = handles_[id];
  return absl::string_view(handle_text_chunks_[h.text_offset / kHandleTextChunk].get() +
                               h.text_offset % kHandleTextChunk,
                           h.length);
}

std::optional<uint32_t> LinkageIndex::FindHandle(absl::string_view text) const {
  if (handle_slots_.empty()) return std::nullopt;
  const size_t mask = handle_slots_.size() - 1;
  for (size_t i = absl::Hash<absl::string_view>()(text) & mask;; i = (i + 1) & mask) {
    const uint32_t s = handle_slots_[i];
    if (s == 0) return std::nullopt;
    if (HandleText(s - 1) == text) return s - 1;
  }
}

uint32_t LinkageIndex::InternHandle(absl::string_view text, uint16_t owner) {
  if ((handles_.size() + 1) * 4 > handle_slots_.size() * 3) {
    handle_slots_.assign(std::max<size_t>(1024, handle_slots_.size() * 2), 0);
    const size_t mask = handle_slots_.size() - 1;
    for (uint32_t id = 0; id < handles_.size(); ++id) {
      size_t i = absl::Hash<absl::string_view>()(HandleText(id)) & mask;
      while (handle_slots_[i] != 0) i = (i + 1) & mask;
      handle_slots_[i] = id + 1;
    }
  }
  if (handle_text_chunks_.empty() || handle_text_used_ + text.size() > kHandleTextChunk) {
    handle_text_chunks_.emplace_back(new char[kHandleTextChunk]);
    handle_text_used_ = 0;
  }
  std::memcpy(handle_text_chunks_.back().get() + handle_text_used_, text.data(), text.size());
  const auto offset = static_cast<uint32_t>((handle_text_chunks_.size() - 1) * kHandleTextChunk +
                                            handle_text_used_);
  handle_text_used_ += text.size();
  const auto id = static_cast<uint32_t>(handles_.size());
  handles_.push_back(Handle{offset, owner, static_cast<uint8_t>(text.size()), 0, 0});
  const size_t mask = handle_slots_.size() - 1;
  size_t i = absl::Hash<absl::string_view>()(text) & mask;
  while (handle_slots_[i] != 0) i = (i + 1) & mask;
  handle_slots_[i] = id + 1;
  return id;
}

LinkageIndex::Epoch* LinkageIndex::FindEpoch(uint32_t epoch) const {
  const auto it = epochs_.find(epoch);
  return it == epochs_.end() ? nullptr : it->second.get();
}

void LinkageIndex::CountLive(uint16_t owner, uint32_t epoch, int64_t delta) {
  const uint64_t key = uint64_t{owner} << 32 | epoch;
  int64_t& n = counts_[key];
  n += delta;
  if (n == 0) counts_.erase(key);
  live_ += delta;
}

absl::Status LinkageIndex::Upsert(uint32_t epoch, absl::string_view value, absl::string_view owner,
                                  absl::string_view handle, uint8_t kind, absl::Time expiry,
                                  absl::Time now) {
  if (absl::Status s = CheckBlindedValue("linkage.value", value); !s.ok()) return s;
  if (!IsLinkageKind(kind)) {
    return absl::InvalidArgumentError(
        absl::StrCat("linkage.kind: unknown identifier type ", kind,
                     " (1 phone, 2 IBAN, 3 VIN, 4 document, 5 name+DOB, 6 e-mail, 8 plate)"));
  }
  if (absl::Status s = CheckName("owner", owner); !s.ok()) return s;
  if (absl::Status s = CheckName("handle", handle); !s.ok()) return s;
  if (epoch == 0) return absl::InvalidArgumentError("linkage.epoch: 0 is no epoch");
  if (expiry <= now) return absl::InvalidArgumentError("linkage.expiry: in the past");
  if (expiry > now + options_.max_retention) {
    return absl::InvalidArgumentError(absl::StrCat("linkage.expiry: beyond the retention limit of ",
                                                   absl::FormatDuration(options_.max_retention)));
  }
  if (retired_.contains(epoch)) {
    return absl::FailedPreconditionError(absl::StrCat("linkage.epoch ", epoch, " is retired"));
  }
  const uint16_t owner_id = InternOwner(owner);
  std::optional<uint32_t> h = FindHandle(handle);
  if (h.has_value() && handles_[*h].owner != owner_id) {
    if (handles_[*h].entries > 0) {
      return absl::PermissionDeniedError("linkage.handle belongs to another endpoint");
    }
    handles_[*h].owner = owner_id;  // nothing left of the former owner's case
  }
  if (!h.has_value()) {
    if (handles_.size() >= kMaxHandles) {
      return absl::ResourceExhaustedError("linkage.handle: the index holds 2^27 handles");
    }
    h = InternHandle(handle, owner_id);
  }
  return Insert(epoch, Bytes(value), owner_id, *h, kind, UnixSeconds(expiry));
}

absl::Status LinkageIndex::Insert(uint32_t epoch, const uint8_t* value, uint16_t owner,
                                  uint32_t handle, uint8_t kind, uint32_t expiry) {
  std::unique_ptr<Epoch>& slot = epochs_[epoch];
  if (slot == nullptr) {
    slot = std::make_unique<Epoch>();
    slot->number = epoch;
  }
  Epoch& ep = *slot;
  uint32_t vi = ep.Find(value);
  if (vi == kNone) {
    vi = ep.Add(value);
    uint32_t& head = ep.Head(handle);
    ep.values[vi].first = Entry{handle << 5 | kind, expiry, head};
    head = vi;
  } else {
    // The same handle already has this value: renew (or revive) it.
    for (uint32_t ref = vi; ref != kNone; ref = ep.NextOf(ref)) {
      Entry& e = ep.At(ref);
      if (e.handle() != handle) continue;
      const bool was_live = e.live();
      e.Set(handle, kind);
      e.expiry = expiry;
      if (!was_live) {
        --dead_;
        ++handles_[handle].entries;
        CountLive(owner, epoch, 1);
      }
      return absl::OkStatus();
    }
    if (ep.overflow.size() >= kOverflow) {
      return absl::ResourceExhaustedError("linkage: an epoch holds 2^31 shared entries");
    }
    uint32_t& head = ep.Head(handle);
    Entry& first = ep.values[vi].first;
    const uint32_t next = (first.bits & kHasOverflow) ? ep.overflow_heads.at(vi) : kNone;
    const auto oi = static_cast<uint32_t>(
        ep.overflow.push_back(OverflowEntry{Entry{handle << 5 | kind, expiry, head}, next, vi}));
    first.bits |= kHasOverflow;
    ep.overflow_heads[vi] = oi | kOverflow;
    head = oi | kOverflow;
  }
  ++handles_[handle].entries;
  CountLive(owner, epoch, 1);
  return absl::OkStatus();
}

bool LinkageIndex::Withdraw(uint32_t epoch, absl::string_view value, absl::string_view owner,
                            absl::string_view handle) {
  Epoch* ep = FindEpoch(epoch);
  const std::optional<uint32_t> h = FindHandle(handle);
  const auto o = owner_ids_.find(owner);
  if (ep == nullptr || !h.has_value() || o == owner_ids_.end() || handles_[*h].owner != o->second ||
      value.size() != kValueBytes) {
    return false;
  }
  const uint32_t vi = ep->Find(Bytes(value));
  if (vi == kNone) return false;
  for (uint32_t ref = vi; ref != kNone; ref = ep->NextOf(ref)) {
    Entry& e = ep->At(ref);
    if (e.handle() != *h || !e.live()) continue;
    e.Set(*h, 0);
    ++dead_;
    --handles_[*h].entries;
    CountLive(o->second, epoch, -1);
    return true;
  }
  return false;
}

std::vector<std::pair<uint32_t, std::array<uint8_t, 32>>> LinkageIndex::WithdrawCase(
    absl::string_view owner, absl::string_view handle) {
  std::vector<std::pair<uint32_t, std::array<uint8_t, 32>>> out;
  const std::optional<uint32_t> h = FindHandle(handle);
  const auto o = owner_ids_.find(owner);
  if (!h.has_value() || o == owner_ids_.end() || handles_[*h].owner != o->second) return out;
  for (auto& [number, ep] : epochs_) {
    if (*h >= ep->handle_heads.size()) continue;
    for (uint32_t ref = ep->handle_heads[*h]; ref != kNone; ref = ep->At(ref).next_handle) {
      Entry& e = ep->At(ref);
      if (!e.live()) continue;
      e.Set(*h, 0);
      ++dead_;
      --handles_[*h].entries;
      CountLive(o->second, number, -1);
      out.emplace_back(number, ep->values[ep->ValueOf(ref)].value);
    }
  }
  return out;
}

std::vector<std::pair<uint32_t, std::array<uint8_t, 32>>> LinkageIndex::CaseValues(
    absl::string_view owner, absl::string_view handle) const {
  std::vector<std::pair<uint32_t, std::array<uint8_t, 32>>> out;
  const std::optional<uint32_t> h = FindHandle(handle);
  const auto o = owner_ids_.find(owner);
  if (!h.has_value() || o == owner_ids_.end() || handles_[*h].owner != o->second) return out;
  for (const auto& [number, ep] : epochs_) {
    if (*h >= ep->handle_heads.size()) continue;
    for (uint32_t ref = ep->handle_heads[*h]; ref != kNone; ref = ep->At(ref).next_handle) {
      if (ep->At(ref).live()) out.emplace_back(number, ep->values[ep->ValueOf(ref)].value);
    }
  }
  return out;
}

std::optional<std::string> LinkageIndex::HandleOwner(absl::string_view handle) const {
  const std::optional<uint32_t> h = FindHandle(handle);
  if (!h.has_value() || handles_[*h].entries == 0) return std::nullopt;
  return owners_[handles_[*h].owner];
}

int64_t LinkageIndex::RetireEpoch(uint32_t epoch) {
  retired_.insert(epoch);
  const auto it = epochs_.find(epoch);
  if (it == epochs_.end()) return 0;
  Epoch& ep = *it->second;
  int64_t dropped = 0;
  auto drop = [&](const Entry& e) {
    if (e.live()) {
      --handles_[e.handle()].entries;
      CountLive(handles_[e.handle()].owner, epoch, -1);
      ++dropped;
    } else {
      --dead_;
    }
  };
  for (size_t i = 0; i < ep.values.size(); ++i) drop(ep.values[i].first);
  for (size_t i = 0; i < ep.overflow.size(); ++i) drop(ep.overflow[i].entry);
  epochs_.erase(it);
  return dropped;
}

absl::StatusOr<std::vector<LinkageHitEntry>> LinkageIndex::Lookup(
    uint32_t epoch, const std::vector<std::string>& values,
    const absl::flat_hash_set<std::string>& allowed_owners, absl::Time now) const {
  if (values.size() > static_cast<size_t>(kMaxQueryValues)) {
    return absl::InvalidArgumentError(absl::StrCat("linkage.identifiers: ", values.size(),
                                                   " exceed the limit of ", kMaxQueryValues));
  }
  for (size_t i = 0; i < values.size(); ++i) {
    if (absl::Status s =
            CheckBlindedValue(absl::StrCat("linkage.identifiers[", i, "].value"), values[i]);
        !s.ok()) {
      return s;
    }
  }
  if (retired_.contains(epoch)) {
    return absl::FailedPreconditionError(
        absl::StrCat("linkage.epoch ", epoch, " is retired; blind under the current epoch"));
  }
  std::vector<LinkageHitEntry> hits;
  const Epoch* ep = FindEpoch(epoch);
  if (ep == nullptr) return hits;
  std::vector<bool> allowed(owners_.size(), false);
  for (const std::string& o : allowed_owners) {
    const auto it = owner_ids_.find(o);
    if (it != owner_ids_.end()) allowed[it->second] = true;
  }
  const uint32_t now_s = UnixSeconds(now);
  for (size_t i = 0; i < values.size(); ++i) {
    const uint32_t vi = ep->Find(Bytes(values[i]));
    if (vi == kNone) continue;
    const size_t first_hit = hits.size();
    for (uint32_t ref = vi; ref != kNone; ref = ep->NextOf(ref)) {
      const Entry& e = ep->At(ref);
      if (!e.live() || e.expiry <= now_s) continue;
      const Handle& h = handles_[e.handle()];
      if (!allowed[h.owner]) continue;
      hits.push_back(LinkageHitEntry{static_cast<int>(i), owners_[h.owner],
                                     std::string(HandleText(e.handle())), e.kind()});
    }
    std::sort(hits.begin() + first_hit, hits.end(), [](const auto& a, const auto& b) {
      return std::tie(a.owner, a.handle) < std::tie(b.owner, b.handle);
    });
  }
  return hits;
}

int64_t LinkageIndex::PurgeExpired(absl::Time now, int64_t max_values) {
  const uint32_t now_s = UnixSeconds(now);
  int64_t purged = 0;
  int64_t visited = 0;
  auto kill = [&](Entry& e, uint32_t epoch) {
    if (!e.live() || e.expiry > now_s) return;
    e.Set(e.handle(), 0);
    ++dead_;
    --handles_[e.handle()].entries;
    CountLive(handles_[e.handle()].owner, epoch, -1);
    ++purged;
  };
  size_t epochs_seen = 0;
  while (visited < max_values && epochs_seen <= epochs_.size() && !epochs_.empty()) {
    auto it = epochs_.lower_bound(purge_epoch_);
    if (it == epochs_.end()) {
      it = epochs_.begin();
      purge_value_ = 0;
    }
    if (it->first != purge_epoch_) purge_value_ = 0;
    purge_epoch_ = it->first;
    Epoch& ep = *it->second;
    while (visited < max_values && purge_value_ < ep.values.size()) {
      for (uint32_t ref = purge_value_; ref != kNone; ref = ep.NextOf(ref)) {
        kill(ep.At(ref), ep.number);
      }
      ++purge_value_;
      ++visited;
    }
    if (purge_value_ >= ep.values.size()) {  // next epoch (wraps around)
      purge_epoch_ = it->first + 1;
      purge_value_ = 0;
      ++epochs_seen;
    }
  }
  return purged;
}

void LinkageIndex::Compact() {
  for (auto& [number, old] : epochs_) {
    auto fresh = std::make_unique<Epoch>();
    fresh->number = number;
    const std::unique_ptr<Epoch> previous = std::move(old);
    old = std::move(fresh);
    for (uint32_t vi = 0; vi < previous->values.size(); ++vi) {
      for (uint32_t ref = vi; ref != kNone; ref = previous->NextOf(ref)) {
        const Entry& e = previous->At(ref);
        if (!e.live()) continue;
        // Re-inserting counts the entry again; undo that first.
        --handles_[e.handle()].entries;
        CountLive(handles_[e.handle()].owner, number, -1);
        Insert(number, previous->values[vi].value.data(), handles_[e.handle()].owner, e.handle(),
               e.kind(), e.expiry)
            .IgnoreError();  // cannot fail: fewer entries than before
      }
    }
  }
  dead_ = 0;
}

std::map<std::pair<std::string, uint32_t>, int64_t> LinkageIndex::Counts() const {
  std::map<std::pair<std::string, uint32_t>, int64_t> out;
  for (const auto& [key, n] : counts_) {
    out[{owners_[key >> 32], static_cast<uint32_t>(key)}] = n;
  }
  return out;
}

size_t LinkageIndex::MemoryBytes() const {
  size_t bytes = sizeof(*this) + handle_text_chunks_.size() * kHandleTextChunk +
                 handle_text_chunks_.capacity() * sizeof(handle_text_chunks_[0]) +
                 handles_.capacity() * sizeof(Handle) + handle_slots_.capacity() * 4 +
                 counts_.capacity() * (sizeof(uint64_t) + sizeof(int64_t) + 1);
  for (const std::string& o : owners_) bytes += sizeof(o) + o.capacity() * 2 + 8;
  for (const auto& [number, ep] : epochs_) bytes += ep->bytes() + 48;  // + the map node
  return bytes;
}

absl::Status LinkageIndex::ApplyRecord(const LinkageRecord& r, absl::Time now) {
  const absl::string_view value(reinterpret_cast<const char*>(r.value.data()), r.value.size());
  if (!r.kind_expiry.has_value() || r.kind_expiry->second <= now) {
    Withdraw(r.epoch, value, r.owner, r.handle);
    return absl::OkStatus();
  }
  // Published under the retention limit of its day; only the expiry counts now.
  const absl::Time expiry = r.kind_expiry->second;
  const absl::Duration retention = options_.max_retention;
  if (expiry > now + retention) {
    return Upsert(r.epoch, value, r.owner, r.handle, r.kind_expiry->first, now + retention, now);
  }
  return Upsert(r.epoch, value, r.owner, r.handle, r.kind_expiry->first, expiry, now);
}

std::string EncodeRecordKey(uint32_t epoch, absl::string_view value, absl::string_view owner,
                            absl::string_view handle) {
  std::string out;
  out.reserve(1 + 4 + value.size() + 1 + owner.size() + handle.size());
  out.push_back(1);
  PutU32(out, epoch);
  out.append(value.data(), value.size());
  out.push_back(static_cast<char>(owner.size()));
  out.append(owner.data(), owner.size());
  out.append(handle.data(), handle.size());
  return out;
}

std::string EncodeRecordValue(uint8_t kind, absl::Time expiry) {
  std::string out;
  out.push_back(1);
  out.push_back(static_cast<char>(kind));
  const auto s = static_cast<uint64_t>(absl::ToUnixSeconds(expiry));
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(s >> shift));
  return out;
}

absl::StatusOr<LinkageRecord> DecodeRecord(absl::string_view key,
                                           std::optional<absl::string_view> value) {
  constexpr size_t kFixed = 1 + 4 + LinkageIndex::kValueBytes + 1;
  if (key.size() < kFixed + 2 || key[0] != 1) {
    return absl::InvalidArgumentError("linkage record key: too short or not version 1");
  }
  LinkageRecord r;
  r.epoch = static_cast<uint32_t>(GetBig(key, 1, 4));
  std::memcpy(r.value.data(), key.data() + 5, LinkageIndex::kValueBytes);
  const size_t owner_len = static_cast<unsigned char>(key[kFixed - 1]);
  if (owner_len == 0 || kFixed + owner_len >= key.size()) {
    return absl::InvalidArgumentError("linkage record key: owner length runs past the key");
  }
  r.owner = std::string(key.substr(kFixed, owner_len));
  r.handle = std::string(key.substr(kFixed + owner_len));
  if (value.has_value()) {
    if (value->size() != 10 || (*value)[0] != 1) {
      return absl::InvalidArgumentError("linkage record value: not 10 bytes of version 1");
    }
    r.kind_expiry.emplace(static_cast<uint8_t>((*value)[1]),
                          absl::FromUnixSeconds(static_cast<int64_t>(GetBig(*value, 2, 8))));
  }
  return r;
}

}  // namespace liaison::broker

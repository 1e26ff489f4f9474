#include "broker/state/linkage_book.h"

#include <algorithm>

#include "base/log.h"

namespace liaison::broker {

LinkageBook::LinkageBook(LinkageIndexOptions options) : index_(options) {}

absl::Status LinkageBook::Apply(const kafka::Record& record, absl::Time now) {
  absl::StatusOr<LinkageRecord> decoded = DecodeRecord(
      record.key, record.tombstone ? std::nullopt : std::optional<absl::string_view>(record.value));
  absl::Status status = decoded.status();
  if (decoded.ok()) {
    absl::MutexLock lock(&mu_);
    status = index_.ApplyRecord(*decoded, now);
  }
  if (status.ok()) return status;
  skipped_.fetch_add(1);
  // Metadata only: the record's position and the index's reason (which
  // names a field, never a value).
  log::Warning("linkage.record_skipped", {{"topic", record.topic},
                                          {"partition", record.partition},
                                          {"offset", record.offset},
                                          {"reason", status.message()}});
  return status;
}

absl::Status LinkageBook::ApplyWritten(const LinkageRecord& record, absl::Time now) {
  absl::MutexLock lock(&mu_);
  return index_.ApplyRecord(record, now);
}

absl::StatusOr<std::vector<LinkageHitEntry>> LinkageBook::Lookup(
    uint32_t epoch, const std::vector<std::string>& values,
    const absl::flat_hash_set<std::string>& allowed_owners, absl::Time now) const {
  absl::ReaderMutexLock lock(&mu_);
  return index_.Lookup(epoch, values, allowed_owners, now);
}

std::optional<std::string> LinkageBook::HandleOwner(const std::string& handle) const {
  absl::ReaderMutexLock lock(&mu_);
  return index_.HandleOwner(handle);
}

std::vector<std::pair<uint32_t, std::array<uint8_t, 32>>> LinkageBook::CaseValues(
    const std::string& owner, const std::string& handle) const {
  absl::ReaderMutexLock lock(&mu_);
  return index_.CaseValues(owner, handle);
}

int64_t LinkageBook::EntriesOf(const std::string& owner) const {
  int64_t n = 0;
  for (const auto& [key, count] : Counts()) {
    if (key.first == owner) n += count;
  }
  return n;
}

int64_t LinkageBook::RetireEpochsNotIn(const std::vector<uint32_t>& in_force) {
  if (in_force.empty()) return 0;
  const uint32_t newest = *std::max_element(in_force.begin(), in_force.end());
  absl::MutexLock lock(&mu_);
  int64_t dropped = 0;
  for (uint32_t epoch = 1; epoch < newest; ++epoch) {
    if (std::find(in_force.begin(), in_force.end(), epoch) != in_force.end()) continue;
    if (index_.IsRetired(epoch)) continue;
    dropped += index_.RetireEpoch(epoch);
  }
  return dropped;
}

int64_t LinkageBook::Maintain(absl::Time now, int64_t max_values) {
  absl::MutexLock lock(&mu_);
  const int64_t purged = index_.PurgeExpired(now, max_values);
  if (index_.DeadEntries() > 1024 && index_.DeadEntries() > index_.LiveEntries()) index_.Compact();
  return purged;
}

std::map<std::pair<std::string, uint32_t>, int64_t> LinkageBook::Counts() const {
  absl::ReaderMutexLock lock(&mu_);
  return index_.Counts();
}

int64_t LinkageBook::live_entries() const {
  absl::ReaderMutexLock lock(&mu_);
  return index_.LiveEntries();
}

}  // namespace liaison::broker

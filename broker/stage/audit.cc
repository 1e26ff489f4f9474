#include "broker/stage/audit.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/log.h"
#include "base/proto_time.h"
#include "base/status_macros.h"
#include "connectors/audit/audit_trail.h"
#include "connectors/audit/checkpoint.h"
#include "connectors/kafka/consumer.h"
#include "connectors/kafka/reader.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace liaison::broker {

AuditLog::AuditLog(Topics topics, kafka::ClientConfig kafka, kafka::Producer* producer,
                   const certs::Signer* signer, absl::Duration checkpoint_interval)
    : topics_(std::move(topics)),
      kafka_(std::move(kafka)),
      producer_(producer),
      signer_(signer),
      checkpoint_interval_(checkpoint_interval) {}

absl::Status AuditLog::LoadHead(int32_t chain) {
  Head head;
  // The last entry, newest first, skipping the checkpoint records after it
  // (kafka::ScanBackward reads back until one turns up or the partition's
  // start is reached: on real Kafka with transactions the last offsets may
  // be commit markers and aborted records, visible to no reader).
  uint64_t checkpointed = 0;
  absl::Status bad;
  LIAISON_RETURN_IF_ERROR(kafka::ScanBackward(
      kafka_, topics_.Audit(), chain, absl::Seconds(30), [&](const kafka::Record& r) {
        liaison::v1::AuditRecord record;
        if (!record.ParseFromString(r.value)) {
          bad = absl::DataLossError(absl::StrCat("audit partition ", chain, " offset ", r.offset,
                                                 ": not an audit record"));
          return false;
        }
        if (record.has_checkpoint()) {
          // Our own kind's record; only used to avoid checkpointing a covered
          // head again (a wrong value costs one redundant or one late checkpoint).
          liaison::v1::AuditCheckpoint c;
          if (c.ParseFromString(record.checkpoint().checkpoint()) && c.chain() == chain) {
            checkpointed = std::max<uint64_t>(checkpointed, c.seq());
          }
          return true;
        }
        if (record.entries().empty() || record.entries().rbegin()->chain() != chain) {
          bad = absl::DataLossError(absl::StrCat("audit partition ", chain, " offset ", r.offset,
                                                 ": not an entry of chain ", chain));
          return false;
        }
        head.seq = record.entries().rbegin()->seq();
        head.hash = record.entries().rbegin()->entry_hash();
        return false;
      }));
  if (!bad.ok()) return bad;
  // Everything read from Kafka is acknowledged.
  head.acked_seq = head.seq;
  head.acked_hash = head.hash;
  head.checkpointed_seq = checkpointed >= head.seq ? head.seq : 0;
  absl::MutexLock lock(&mu_);
  heads_[chain] = std::move(head);
  return absl::OkStatus();
}

void AuditLog::DropHead(int32_t chain) {
  std::vector<Due> due;
  {
    absl::MutexLock lock(&mu_);
    due = Collect(absl::Now(), /*force=*/true, {chain});
    heads_.erase(chain);
  }
  WriteCheckpoints(std::move(due), nullptr);
}

void AuditLog::CheckpointDue(absl::Time now) {
  std::vector<Due> due;
  {
    absl::MutexLock lock(&mu_);
    due = Collect(now, /*force=*/false, {});
  }
  if (!due.empty()) WriteCheckpoints(std::move(due), nullptr);
}

int AuditLog::CheckpointAll(absl::Duration wait) {
  std::vector<Due> due;
  {
    absl::MutexLock lock(&mu_);
    due = Collect(absl::Now(), /*force=*/true, {});
  }
  if (due.empty()) return 0;
  struct Join {
    absl::Mutex mu;
    int pending = 0;  // both under mu (not annotated: read by the Condition below)
    int ok = 0;
  };
  auto join = std::make_shared<Join>();
  {
    absl::MutexLock lock(&join->mu);
    join->pending = static_cast<int>(due.size());
  }
  WriteCheckpoints(std::move(due), [join](absl::Status s) {
    absl::MutexLock lock(&join->mu);
    --join->pending;
    if (s.ok()) ++join->ok;
  });
  absl::MutexLock lock(&join->mu);
  auto done = [j = join.get()] { return j->pending == 0; };
  join->mu.AwaitWithTimeout(absl::Condition(&done), wait);
  return join->ok;
}

std::vector<AuditLog::Due> AuditLog::Collect(absl::Time now, bool force,
                                             const std::vector<int32_t>& chains) {
  std::vector<Due> due;
  if (signer_ == nullptr) return due;
  for (auto& [chain, h] : heads_) {
    if (!chains.empty() && std::find(chains.begin(), chains.end(), chain) == chains.end()) {
      continue;
    }
    if (h.acked_seq <= h.checkpointed_seq) continue;
    if (!force && now - h.checkpointed_at < checkpoint_interval_) continue;
    Due d;
    d.chain = chain;
    d.checkpoint.set_chain(chain);
    d.checkpoint.set_seq(h.acked_seq);
    d.checkpoint.set_head_hash(h.acked_hash);
    *d.checkpoint.mutable_signed_at() = ToProto(now);
    d.previous_seq = h.checkpointed_seq;
    h.checkpointed_seq = h.acked_seq;  // in flight; reset if the write fails
    h.checkpointed_at = now;
    due.push_back(std::move(d));
  }
  return due;
}

void AuditLog::WriteCheckpoints(std::vector<Due> due, std::function<void(absl::Status)> done) {
  for (Due& d : due) {
    liaison::v1::AuditRecord record;
    absl::StatusOr<liaison::v1::SignedAuditCheckpoint> signed_checkpoint =
        audit::SignCheckpoint(d.checkpoint, *signer_);
    if (!signed_checkpoint.ok()) {
      log::Error("audit.checkpoint_failed",
                 {{"chain", d.chain}, {"error", signed_checkpoint.status().ToString()}});
      if (done) done(signed_checkpoint.status());
      continue;
    }
    *record.mutable_checkpoint() = std::move(*signed_checkpoint);
    producer_->Produce(
        topics_.Audit(), /*key=*/"", record.SerializeAsString(),
        [this, chain = d.chain, seq = d.checkpoint.seq(), previous = d.previous_seq,
         done](const kafka::DeliveryReport& report) {
          if (report.status.ok()) {
            ++checkpoints_written_;
          } else {
            log::Warning("audit.checkpoint_failed", {{"chain", chain},
                                                     {"seq", static_cast<int64_t>(seq)},
                                                     {"error", report.status.ToString()}});
            absl::MutexLock lock(&mu_);
            if (auto it = heads_.find(chain);
                it != heads_.end() && it->second.checkpointed_seq == seq) {
              it->second.checkpointed_seq = previous;  // tried again an interval later
            }
          }
          if (done) done(report.status);
        },
        d.chain);
  }
}

void AuditLog::Acknowledged(int32_t chain, uint64_t first, uint64_t last, std::string hash) {
  absl::MutexLock lock(&mu_);
  auto it = heads_.find(chain);
  if (it == heads_.end()) return;  // released meanwhile
  Head& h = it->second;
  if (last <= h.acked_seq) return;  // a retried write acknowledged again
  if (first > h.acked_seq + 1) {
    h.acked_ahead[first] = {last, std::move(hash)};  // an earlier write is still out
    return;
  }
  h.acked_seq = last;
  h.acked_hash = std::move(hash);
  while (!h.acked_ahead.empty() && h.acked_ahead.begin()->first <= h.acked_seq + 1) {
    auto& [next_last, next_hash] = h.acked_ahead.begin()->second;
    if (next_last > h.acked_seq) {
      h.acked_seq = next_last;
      h.acked_hash = std::move(next_hash);
    }
    h.acked_ahead.erase(h.acked_ahead.begin());
  }
}

AuditLog::Sealed AuditLog::Seal(int32_t chain, std::vector<liaison::v1::AuditEntry> entries) {
  Sealed sealed;
  if (entries.empty()) return sealed;
  liaison::v1::AuditRecord record;
  {
    absl::MutexLock lock(&mu_);
    Head& head = heads_[chain];
    sealed.first_seq = head.seq + 1;
    for (liaison::v1::AuditEntry& e : entries) {
      e.set_chain(chain);
      e.set_seq(++head.seq);
      e.set_prev_hash(head.hash);
      head.hash = audit::EntryHash(e);
      e.set_entry_hash(head.hash);
      *record.add_entries() = std::move(e);
    }
    sealed.last_seq = head.seq;
    sealed.last_hash = head.hash;
  }
  // One Kafka record for the batch: a message's decisions are written (and
  // acknowledged) together.
  sealed.entries = record.entries_size();
  sealed.record = record.SerializeAsString();
  return sealed;
}

void AuditLog::Write(int32_t chain, Sealed sealed, std::function<void(absl::Status)> done,
                     kafka::Producer* transaction) {
  if (sealed.entries == 0) {
    done(absl::OkStatus());
    return;
  }
  if (transaction != nullptr) {
    transaction->Produce(
        topics_.Audit(), /*key=*/"", std::move(sealed.record),
        [done = std::move(done)](const kafka::DeliveryReport& report) { done(report.status); },
        chain);
    return;
  }
  producer_->Produce(
      topics_.Audit(), /*key=*/"", std::move(sealed.record),
      [this, chain, entries = sealed.entries, first = sealed.first_seq, last = sealed.last_seq,
       hash = sealed.last_hash, done = std::move(done)](const kafka::DeliveryReport& report) {
        if (report.status.ok()) {
          written_ += entries;
          Acknowledged(chain, first, last, hash);
        }
        done(report.status);
      },
      chain);
}

void AuditLog::Committed(int32_t chain, const Sealed& sealed) {
  if (sealed.entries == 0) return;
  written_ += sealed.entries;
  Acknowledged(chain, sealed.first_seq, sealed.last_seq, sealed.last_hash);
}

}  // namespace liaison::broker

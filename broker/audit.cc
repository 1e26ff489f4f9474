#include "broker/audit.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "absl/time/clock.h"
#include "base/log.h"
#include "base/status_macros.h"
#include "connectors/audit/audit_trail.h"
#include "connectors/kafka/consumer.h"
#include "connectors/kafka/reader.h"

namespace liaison::broker {

AuditLog::AuditLog(Topics topics, kafka::ClientConfig kafka, kafka::Producer* producer)
    : topics_(std::move(topics)), kafka_(std::move(kafka)), producer_(producer) {}

absl::Status AuditLog::LoadHead(int32_t chain) {
  LIAISON_ASSIGN_OR_RETURN(std::optional<kafka::Record> last,
                           kafka::ReadLast(kafka_, topics_.Audit(), chain, absl::Seconds(30)));
  Head head;
  if (last.has_value()) {
    liaison::v1::AuditRecord record;
    if (!record.ParseFromString(last->value) || record.entries().empty() ||
        record.entries().rbegin()->chain() != chain) {
      return absl::DataLossError(absl::StrCat("audit partition ", chain, " offset ",
                                              last->offset, ": not an entry of chain ", chain));
    }
    head.seq = record.entries().rbegin()->seq();
    head.hash = record.entries().rbegin()->entry_hash();
  }
  absl::MutexLock lock(&mu_);
  heads_[chain] = std::move(head);
  return absl::OkStatus();
}

void AuditLog::DropHead(int32_t chain) {
  absl::MutexLock lock(&mu_);
  heads_.erase(chain);
}

AuditLog::Sealed AuditLog::Seal(int32_t chain, std::vector<liaison::v1::AuditEntry> entries) {
  Sealed sealed;
  if (entries.empty()) return sealed;
  liaison::v1::AuditRecord record;
  {
    absl::MutexLock lock(&mu_);
    Head& head = heads_[chain];
    for (liaison::v1::AuditEntry& e : entries) {
      e.set_chain(chain);
      e.set_seq(++head.seq);
      e.set_prev_hash(head.hash);
      head.hash = audit::EntryHash(e);
      e.set_entry_hash(head.hash);
      *record.add_entries() = std::move(e);
    }
  }
  // One Kafka record for the batch: a message's decisions are written (and
  // acknowledged) together.
  sealed.entries = record.entries_size();
  sealed.record = record.SerializeAsString();
  return sealed;
}

void AuditLog::Write(int32_t chain, Sealed sealed, std::function<void(absl::Status)> done) {
  if (sealed.entries == 0) {
    done(absl::OkStatus());
    return;
  }
  producer_->Produce(topics_.Audit(), /*key=*/"", std::move(sealed.record),
                     [this, entries = sealed.entries,
                      done = std::move(done)](const kafka::DeliveryReport& report) {
                       if (report.status.ok()) written_ += entries;
                       done(report.status);
                     },
                     chain);
}

}  // namespace liaison::broker

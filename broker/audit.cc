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

std::vector<std::string> AuditLog::Seal(int32_t chain,
                                        std::vector<liaison::v1::AuditEntry> entries) {
  std::vector<std::string> sealed;
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
  sealed.push_back(record.SerializeAsString());
  return sealed;
}

void AuditLog::Write(int32_t chain, std::vector<std::string> sealed,
                     std::function<void(absl::Status)> done) {
  if (sealed.empty()) {
    done(absl::OkStatus());
    return;
  }
  struct Join {
    std::atomic<int> remaining;
    absl::Mutex mu;
    absl::Status first_error;
    std::function<void(absl::Status)> done;
  };
  auto join = std::make_shared<Join>();
  join->remaining = static_cast<int>(sealed.size());
  join->done = std::move(done);
  for (std::string& value : sealed) {
    producer_->Produce(topics_.Audit(), /*key=*/"", std::move(value),
                       [this, join](const kafka::DeliveryReport& report) {
                         if (report.status.ok()) {
                           ++written_;
                         } else {
                           absl::MutexLock lock(&join->mu);
                           if (join->first_error.ok()) join->first_error = report.status;
                         }
                         if (--join->remaining == 0) {
                           absl::Status s;
                           {
                             absl::MutexLock lock(&join->mu);
                             s = join->first_error;
                           }
                           join->done(s);
                         }
                       },
                       chain);
  }
}

}  // namespace liaison::broker

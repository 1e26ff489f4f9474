#include "broker/stage/hold_book.h"

#include <algorithm>
#include <map>

#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "base/log.h"
#include "base/proto_time.h"

namespace liaison::broker {
namespace {

// The next time the hold must be worked: the delay's end or the first
// consent timeout, and in any case the content's erasure time.
absl::Time Due(const liaison::v1::HeldDelivery& held) {
  absl::Time due = absl::InfiniteFuture();
  if (held.outcome() == liaison::v1::OUTCOME_DELAY) {
    due = FromProto(held.not_before());
  } else {
    for (const liaison::v1::PolicyHold& h : held.holds()) {
      due = std::min(due, FromProto(h.expires_at()));
    }
  }
  if (held.has_erase_by()) due = std::min(due, FromProto(held.erase_by()));
  return due;
}

bool Covers(const liaison::v1::ConsentGrant& grant, const std::string& message_id) {
  return std::find(grant.message_ids().begin(), grant.message_ids().end(), message_id) !=
         grant.message_ids().end();
}

// Holds worked in one tick, at most (a release burst is spread over ticks,
// so a tick never holds thousands of messages' content at once).
constexpr size_t kMaxWorkedPerTick = 256;
constexpr absl::Duration kReaderIdle = absl::Seconds(5);

}  // namespace

HoldBook::HoldBook(HoldBookDeps deps) : deps_(std::move(deps)) {}

HoldBook::~HoldBook() { Stop(); }

absl::Status HoldBook::Start(absl::Duration catch_up_timeout) {
  {
    absl::StatusOr<std::unique_ptr<kafka::RecordReader>> reader =
        kafka::RecordReader::Create(deps_.kafka);
    if (!reader.ok()) return reader.status();
    absl::MutexLock lock(&reader_mu_);
    reader_ = *std::move(reader);
  }
  if (deps_.own_mirror) {
    mirror_ = std::make_unique<TopicMirror>(deps_.kafka, deps_.topics.Holds(),
                                            [this](const kafka::Record& r) { Apply(r); });
    if (absl::Status s = mirror_->Start(); !s.ok()) return s;
    if (absl::Status s = mirror_->WaitCaughtUp(catch_up_timeout); !s.ok()) return s;
  }
  thread_ = std::thread([this] { Loop(); });
  return absl::OkStatus();
}

void HoldBook::Stop() {
  if (stop_.exchange(true)) return;
  if (thread_.joinable()) thread_.join();
  if (mirror_ != nullptr) mirror_->Stop();
}

void HoldBook::Apply(const kafka::Record& record) {
  if (record.value.empty()) {  // tombstone
    absl::MutexLock lock(&mu_);
    holds_.erase(record.key);
    finished_.erase(record.key);
    return;
  }
  liaison::v1::HeldDelivery held;
  if (!held.ParseFromString(record.value)) {
    log::Error("holds.unreadable", {{"partition", record.partition}, {"offset", record.offset}});
    return;
  }
  held.clear_ingress();  // the content stays in Kafka
  const size_t hash = absl::HashOf(record.value);
  absl::MutexLock lock(&mu_);
  if (finished_.contains(held.hold_id())) return;  // finished here, tombstone on its way
  Entry& e = holds_[held.hold_id()];
  e.partition = record.partition;
  e.offset = record.offset;
  e.record_hash = hash;
  if (!e.content.empty()) {
    // This node wrote the hold and keeps its content until the mirror reads
    // that record back. (Every version of a hold carries the same message:
    // which one is worked changes nothing in the decision.)
    if (absl::HashOf(e.content) == hash) std::string().swap(e.content);
    return;
  }
  if (e.busy) return;
  e.held = std::move(held);
  e.recheck = true;  // consents may have come while nobody worked it
}

void HoldBook::Add(const liaison::v1::HeldDelivery& held) {
  liaison::v1::HeldDelivery meta = held;
  meta.clear_ingress();
  std::string content = held.SerializeAsString();  // the bytes written to liaison.holds
  absl::MutexLock lock(&mu_);
  finished_.erase(held.hold_id());
  Entry& e = holds_[held.hold_id()];
  e.held = std::move(meta);
  // The mirror may have read the record before the write's acknowledgement
  // reached this call: then Kafka already has it where the mirror saw it.
  if (e.partition < 0 || e.record_hash != absl::HashOf(content)) e.content = std::move(content);
  e.busy = false;
  // A consent may have been recorded between the decision and now: look once.
  e.recheck = true;
}

void HoldBook::OnConsent(const liaison::v1::ConsentGrant& grant) {
  absl::MutexLock lock(&mu_);
  for (auto& [id, e] : holds_) {
    if (Covers(grant, e.held.message_id())) e.recheck = true;
  }
}

std::vector<HoldBook::Pending> HoldBook::List() const {
  std::vector<Pending> out;
  absl::MutexLock lock(&mu_);
  for (const auto& [id, e] : holds_) {
    Pending p;
    p.hold_id = id;
    p.message_id = e.held.message_id();
    p.sender = e.held.sender();
    p.recipient = e.held.recipient();
    p.outcome = e.held.outcome();
    for (const liaison::v1::PolicyHold& h : e.held.holds()) {
      p.awaiting.push_back(absl::StrCat(h.awaiting(), " (",
                                        liaison::v1::ConsentKind_Name(h.consent_kind()), ", ",
                                        h.rule_id(), ")"));
    }
    p.created_at = FromProto(e.held.created_at());
    p.due = Due(e.held);
    out.push_back(std::move(p));
  }
  return out;
}

size_t HoldBook::size() const {
  absl::MutexLock lock(&mu_);
  return holds_.size();
}

size_t HoldBook::content_bytes() const {
  absl::MutexLock lock(&mu_);
  size_t bytes = 0;
  for (const auto& [id, e] : holds_) bytes += e.content.size();
  return bytes;
}

void HoldBook::Loop() {
  while (!stop_) {
    absl::SleepFor(deps_.tick);
    Tick();
  }
}

void HoldBook::Tick() {
  const absl::Time now = deps_.clock->Now();
  std::vector<int32_t> owned = deps_.stage->OwnedPartitions();
  std::vector<DueHold> due;
  {
    absl::MutexLock lock(&mu_);
    // The due holds in record order (content in memory first): a tick takes
    // the first kMaxWorkedPerTick, so a release burst reads consecutive
    // records of liaison.holds, never one record here and one there across
    // the whole topic.
    std::vector<std::pair<std::pair<int32_t, int64_t>, Entry*>> ready;
    for (auto& [id, e] : holds_) {
      if (e.busy) continue;
      if (std::find(owned.begin(), owned.end(), e.held.ingress_partition()) == owned.end()) {
        continue;  // another node's policy stage works this one
      }
      if (e.recheck || now >= Due(e.held)) {
        const bool in_memory = !e.content.empty() || e.partition < 0;
        ready.push_back({{in_memory ? -1 : e.partition, in_memory ? 0 : e.offset}, &e});
      }
    }
    if (ready.size() > kMaxWorkedPerTick) {  // the rest on the next tick
      std::partial_sort(ready.begin(), ready.begin() + kMaxWorkedPerTick, ready.end(),
                        [](const auto& a, const auto& b) { return a.first < b.first; });
      ready.resize(kMaxWorkedPerTick);
    }
    for (auto& [position, e] : ready) {
      e->busy = true;
      e->recheck = false;
      due.push_back({e->held, e->content, e->partition, e->offset});
    }
  }
  // Content in memory first; the rest read back from Kafka, one forward
  // pass per partition of liaison.holds (a release burst reads its holds'
  // records together instead of one fetch session each).
  std::map<int32_t, std::map<int64_t, const DueHold*>> in_kafka;
  for (const DueHold& d : due) {
    if (!d.content.empty() || d.partition < 0) {
      std::optional<liaison::v1::HeldDelivery> held = FromMemory(d);
      if (held.has_value()) Work(*std::move(held), now);
    } else {
      in_kafka[d.partition][d.offset] = &d;
    }
  }
  {
    // A quiet book keeps no read-ahead (RecordReader: up to 8 MiB a
    // partition) once no hold was read from Kafka for kReaderIdle.
    absl::MutexLock lock(&reader_mu_);
    if (!in_kafka.empty()) {
      last_read_ = absl::Now();
    } else if (reader_->Started() && absl::Now() - last_read_ > kReaderIdle) {
      reader_->StopAll();
    }
  }
  for (const auto& [partition, by_offset] : in_kafka) {
    std::vector<int64_t> offsets;
    for (const auto& [offset, d] : by_offset) offsets.push_back(offset);
    absl::MutexLock lock(&reader_mu_);
    reader_->ReadEach(
        deps_.topics.Holds(), partition, std::move(offsets), absl::Seconds(30),
        [&, &by_offset = by_offset](int64_t offset, absl::StatusOr<kafka::Record> record) {
          const DueHold& d = *by_offset.at(offset);
          std::optional<liaison::v1::HeldDelivery> held = FromKafka(d, std::move(record), now);
          if (held.has_value()) Work(*std::move(held), now);
        });
  }
  if (deps_.sources != nullptr) SweepErasures(now, owned);
}

void HoldBook::SweepErasures(absl::Time now, const std::vector<int32_t>& owned) {
  for (auto& [record, expiry] : deps_.sources->DueForErasure(now, owned)) {
    const std::string id = record->ref.message_id();
    {
      absl::MutexLock lock(&mu_);
      if (!erasing_.insert(id).second) continue;
    }
    const std::string erase_by =
        absl::FormatTime("%Y-%m-%dT%H:%MZ", expiry.erase_by, absl::UTCTimeZone());
    Outputs out;
    for (const std::string& recipient : record->delivered_to) {
      liaison::v1::AuditEntry a;
      *a.mutable_ts() = ToProto(now);
      a.set_operation(liaison::v1::AUDIT_OPERATION_ERASURE);
      a.set_event("erase-at-expiry");
      a.set_message_id(id);
      a.set_sender(record->ref.provider());
      a.set_recipient(recipient);
      a.add_rule_ids("DP-RET-02");
      a.set_broker_id(deps_.broker_id);
      out.audit.push_back(std::move(a));
      liaison::v1::Notice n;
      n.set_kind(liaison::v1::NOTICE_KIND_ERASE);
      n.set_addressee(recipient);
      n.set_message_id(id);
      n.set_recipient(recipient);
      n.add_rule_ids("DP-RET-02");
      n.add_reasons(absl::StrCat("DP-RET-02: erase_by ", erase_by, " of ", id,
                                 " has passed: erase your copy"));
      *n.mutable_due() = ToProto(expiry.erase_by);
      if (std::optional<Outputs::Record> r = deps_.stage->NoticeRecord(std::move(n), now)) {
        out.records.push_back(std::move(*r));
      }
    }
    liaison::v1::RecordedSource stored = SourceBook::ToProto(*record);
    *stored.mutable_erase_by() = ToProto(expiry.erase_by);
    stored.set_ingress_partition(expiry.ingress_partition);
    stored.set_erasure_notified(true);
    out.records.push_back({deps_.topics.Sources(), id, stored.SerializeAsString(),
                           kafka::kAnyPartition, std::nullopt});
    deps_.stage->Write(expiry.ingress_partition, std::move(out),
                       [this, id, expiry = expiry](absl::Status s) mutable {
                         if (s.ok()) {
                           expiry.notified = true;
                           deps_.sources->SetExpiry(id, expiry);
                         } else {
                           log::Warning("retention.erase_notice_failed",
                                        {{"message_id", id}, {"error", s.ToString()}});
                         }
                         absl::MutexLock lock(&mu_);
                         erasing_.erase(id);
                       });
  }
}

std::optional<liaison::v1::HeldDelivery> HoldBook::FromMemory(const DueHold& due) {
  const std::string& hold_id = due.meta.hold_id();
  if (due.content.empty()) {  // not in memory and not yet seen in Kafka: next tick
    Finish(hold_id, false);
    return std::nullopt;
  }
  liaison::v1::HeldDelivery held;
  if (held.ParseFromString(due.content)) return held;
  log::Error("holds.unreadable", {{"hold_id", hold_id}});
  Finish(hold_id, true);
  return std::nullopt;
}

std::optional<liaison::v1::HeldDelivery> HoldBook::FromKafka(const DueHold& due,
                                                             absl::StatusOr<kafka::Record> record,
                                                             absl::Time now) {
  const std::string& hold_id = due.meta.hold_id();
  liaison::v1::HeldDelivery held;
  if (record.ok() && record->key == hold_id && held.ParseFromString(record->value) &&
      held.hold_id() == hold_id) {
    return held;
  }
  {
    // The mirror may have seen a newer version meanwhile: work that one.
    absl::MutexLock lock(&mu_);
    auto it = holds_.find(hold_id);
    if (it != holds_.end() &&
        (it->second.partition != due.partition || it->second.offset != due.offset)) {
      it->second.busy = false;
      it->second.recheck = true;
      return std::nullopt;
    }
  }
  if (record.ok() || record.status().code() == absl::StatusCode::kNotFound) {
    // Gone from Kafka (retention) or not this hold: never decide on a guess.
    Lost(due,
         record.ok() ? absl::DataLossError("the record there is not this hold") : record.status(),
         now);
    return std::nullopt;
  }
  log::Warning("holds.read_failed", {{"hold_id", hold_id}, {"error", record.status().ToString()}});
  Finish(hold_id, false);  // Kafka unavailable: tried again on the next tick
  return std::nullopt;
}

void HoldBook::Lost(const DueHold& due, const absl::Status& why, absl::Time now) {
  const liaison::v1::HeldDelivery& meta = due.meta;
  const std::string hold_id = meta.hold_id();
  log::Error("holds.content_lost", {{"hold_id", hold_id},
                                    {"message_id", meta.message_id()},
                                    {"recipient", meta.recipient()},
                                    {"error", why.ToString()}});
  liaison::v1::Notice n;
  n.set_kind(liaison::v1::NOTICE_KIND_NON_DELIVERY);
  n.set_addressee(meta.sender());
  n.set_message_id(meta.message_id());
  n.set_recipient(meta.recipient());
  n.set_hold_id(hold_id);
  n.add_reasons(absl::StrCat("the held copy for ", meta.recipient(),
                             " was lost in Kafka before it could be released (", why.message(),
                             "); not delivered: send it again"));
  Outputs out;
  if (std::optional<Outputs::Record> r = deps_.stage->NoticeRecord(std::move(n), now)) {
    out.records.push_back(std::move(*r));
  }
  deps_.stage->Write(meta.ingress_partition(), std::move(out), [this, hold_id](absl::Status s) {
    if (!s.ok()) {
      Finish(hold_id, false);  // tried again on the next tick
      return;
    }
    Tombstone(hold_id);
    Finish(hold_id, true);
  });
}

void HoldBook::Work(liaison::v1::HeldDelivery held, absl::Time now) {
  const std::string hold_id = held.hold_id();
  Outputs outputs = deps_.stage->Reevaluate(held, now);
  if (outputs.flow.empty()) {  // unreadable: cannot be decided, drop loudly
    log::Error("holds.undecidable", {{"hold_id", hold_id}});
    Finish(hold_id, true);
    Tombstone(hold_id);
    return;
  }
  const liaison::v1::Outcome outcome = outputs.flow.front().outcome;
  const bool timed_out = held.outcome() == liaison::v1::OUTCOME_HOLD && now >= Due(held);
  log::Info("holds.reevaluated", {{"hold_id", hold_id},
                                  {"message_id", held.message_id()},
                                  {"recipient", held.recipient()},
                                  {"outcome", liaison::v1::Outcome_Name(outcome)},
                                  {"timed_out", timed_out}});

  if (outcome == liaison::v1::OUTCOME_HOLD && !timed_out) {
    // Still waiting (e.g. one of two consents arrived). Nothing to write.
    Finish(hold_id, false);
    return;
  }
  if (outcome == liaison::v1::OUTCOME_HOLD && timed_out) {
    // docs/rules.md: a hold becomes a reject when its timeout passes.
    Outputs reject;
    liaison::v1::AuditEntry a = outputs.audit.front();
    a.set_event("hold-timeout");
    a.set_decision(liaison::v1::OUTCOME_REJECT);
    a.set_operation(liaison::v1::AUDIT_OPERATION_REFUSAL);
    reject.audit.push_back(std::move(a));
    liaison::v1::Notice n;
    n.set_kind(liaison::v1::NOTICE_KIND_NON_DELIVERY);
    n.set_addressee(held.sender());
    n.set_message_id(held.message_id());
    n.set_recipient(held.recipient());
    n.set_hold_id(hold_id);
    for (const liaison::v1::PolicyHold& h : held.holds()) {
      n.add_rule_ids(h.rule_id());
      n.add_reasons(absl::StrCat(
          h.rule_id(), ": no ", liaison::v1::ConsentKind_Name(h.consent_kind()), " from ",
          h.awaiting(), " before ",
          absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", FromProto(h.expires_at()), absl::UTCTimeZone()),
          "; not delivered"));
    }
    if (std::optional<Outputs::Record> r = deps_.stage->NoticeRecord(std::move(n), now)) {
      reject.records.push_back(std::move(*r));
    }
    FlowEvent flow = outputs.flow.front();
    flow.outcome = liaison::v1::OUTCOME_REJECT;
    flow.step = FlowStep::kHoldTimeout;
    reject.flow.push_back(std::move(flow));
    outputs = std::move(reject);
  } else if (outcome == liaison::v1::OUTCOME_ALLOW || outcome == liaison::v1::OUTCOME_REDACT) {
    liaison::v1::Notice n;
    n.set_kind(liaison::v1::NOTICE_KIND_RELEASED);
    n.set_addressee(held.sender());
    n.set_message_id(held.message_id());
    n.set_recipient(held.recipient());
    n.set_hold_id(hold_id);
    n.add_reasons(held.outcome() == liaison::v1::OUTCOME_DELAY
                      ? "the delay ended; delivered"
                      : "the awaited consent was recorded; delivered");
    if (std::optional<Outputs::Record> r = deps_.stage->NoticeRecord(std::move(n), now)) {
      outputs.records.push_back(std::move(*r));
    }
  }
  // A new DELAY (or HOLD) replaces this hold under the same id; anything
  // else ends it.
  const bool ends = outputs.held.empty();
  deps_.stage->Write(
      held.ingress_partition(), std::move(outputs), [this, hold_id, ends](absl::Status s) {
        if (!s.ok()) {
          log::Warning("holds.write_failed", {{"hold_id", hold_id}, {"error", s.ToString()}});
          Finish(hold_id, false);  // tried again on the next tick
          return;
        }
        if (ends) {
          Tombstone(hold_id);
          Finish(hold_id, true);
        }
      });
}

void HoldBook::Finish(const std::string& hold_id, bool remove) {
  absl::MutexLock lock(&mu_);
  auto it = holds_.find(hold_id);
  if (it == holds_.end()) return;
  if (remove) {
    holds_.erase(it);
    finished_.insert(hold_id);
  } else {
    it->second.busy = false;
  }
}

void HoldBook::Tombstone(const std::string& hold_id) {
  deps_.producer->Produce(deps_.topics.Holds(), hold_id, std::string(),
                          [hold_id](const kafka::DeliveryReport& r) {
                            if (!r.status.ok()) {
                              log::Warning("holds.tombstone_failed",
                                           {{"hold_id", hold_id}, {"error", r.status.ToString()}});
                            }
                          });
}

}  // namespace liaison::broker

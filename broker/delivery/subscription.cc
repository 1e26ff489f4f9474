#include "broker/delivery/subscription.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/log.h"
#include "base/proto_time.h"
#include "broker/core/ids.h"
#include "broker/core/offset_commit.h"
#include "broker/delivery/delivery_hub.h"
#include "broker/delivery/delivery_index.h"
#include "liaison/v1/broker_state.pb.h"

namespace liaison::broker {
namespace {

constexpr int kMaxProduceAttempts = 5;

int64_t NowMillis() { return absl::ToUnixMillis(absl::Now()); }

// Produces `value`, re-trying a failed write a few times (librdkafka already
// retried for message.timeout.ms); `done` gets the final outcome.
void ProduceWithRetry(kafka::Producer* producer, std::string topic, std::string key,
                      std::string value, std::function<void(absl::Status)> done, int attempt = 1) {
  std::string retry_value = value;  // small records only: acks and receipts
  producer->Produce(topic, key, std::move(value),
                    [producer, topic, key, retry_value = std::move(retry_value),
                     done = std::move(done), attempt](const kafka::DeliveryReport& report) mutable {
                      if (report.status.ok() || attempt >= kMaxProduceAttempts) {
                        done(report.status);
                        return;
                      }
                      ProduceWithRetry(producer, std::move(topic), std::move(key),
                                       std::move(retry_value), std::move(done), attempt + 1);
                    });
}

}  // namespace

Subscription::Subscription(std::string endpoint, uint32_t window, SubscriptionDeps deps,
                           SubscriptionSink* sink)
    : endpoint_(std::move(endpoint)),
      window_(window == 0 ? kDefaultWindow : std::min(window, kMaxWindow)),
      deps_(std::move(deps)),
      sink_(sink) {}

Subscription::~Subscription() {
  Stop();
  if (thread_.joinable()) thread_.join();
}

void Subscription::Start() {
  ++deps_.stats->subscribers;
  deps_.stats->last_seen_unix_ms = NowMillis();
  if (deps_.hub != nullptr) {
    deps_.hub->Attach(shared_from_this());
    return;
  }
  thread_ = std::thread([this] { Loop(); });
}

size_t Subscription::Room() const {
  absl::MutexLock lock(&mu_);
  return window_ > in_flight_.size() ? window_ - in_flight_.size() : 0;
}

bool Subscription::Stopping() const {
  absl::MutexLock lock(&mu_);
  return stop_;
}

bool Subscription::Settled() const {
  absl::MutexLock lock(&mu_);
  return finalising_ == 0;
}

void Subscription::EndStream(absl::Status status) {
  absl::MutexLock lock(&mu_);
  if (sink_ != nullptr) sink_->End(std::move(status));
}

void Subscription::Assigned(const std::vector<int32_t>& partitions) {
  absl::MutexLock lock(&mu_);
  for (int32_t p : partitions) progress_[p];
  if (!ready_sent_) {
    ready_sent_ = true;
    liaison::v1::SubscribeResponse ready;
    ready.mutable_event()->set_kind(liaison::v1::SubscriptionEvent::KIND_READY);
    ready.mutable_event()->set_detail(
        absl::StrCat("streaming ", deps_.topics.Deliver(endpoint_), " with window ", window_));
    Push(std::move(ready));
  }
}

void Subscription::Revoked(const std::vector<int32_t>& partitions) {
  absl::MutexLock lock(&mu_);
  for (int32_t partition : partitions) {
    // Items of a partition we no longer own come again from its new owner;
    // forget them here so they do not hold the window.
    for (auto it = in_flight_.begin(); it != in_flight_.end();) {
      if (it->second.partition == partition) {
        --deps_.stats->in_flight;
        in_flight_.erase(it++);
      } else {
        ++it;
      }
    }
    progress_.erase(partition);
  }
}

int64_t Subscription::ResumeOffset(int32_t partition) const {
  absl::MutexLock lock(&mu_);
  auto it = progress_.find(partition);
  if (it == progress_.end() || it->second.next < 0) return -1;
  return it->second.outstanding.empty() ? it->second.next : it->second.outstanding.begin()->first;
}

void Subscription::Finish() {
  {
    absl::MutexLock lock(&mu_);
    deps_.stats->in_flight -= static_cast<int64_t>(in_flight_.size());
    in_flight_.clear();
  }
  --deps_.stats->subscribers;
  finished_ = true;
}

void Subscription::Lost(const kafka::Gap& gap) {
  // The notices look the items up in the delivery index (up to 30 s): not on
  // the hub's thread, which reads for every stream of the node.
  RecordGap(gap);
  deps_.pool->Submit([self = shared_from_this(), gap] { self->GapNotices(gap); });
}

void Subscription::Stop() {
  absl::MutexLock lock(&mu_);
  sink_ = nullptr;
  stop_ = true;
}

void Subscription::Push(liaison::v1::SubscribeResponse response) {
  if (sink_ != nullptr) sink_->Push(std::move(response));
}

void Subscription::Loop() {
  kafka::ConsumerOptions options;
  options.group_id = deps_.topics.DeliverGroup(endpoint_);
  options.topics = {deps_.topics.Deliver(endpoint_)};
  // Back from the shared delivery consumer (its group holds the offsets).
  options.previous_group = [shared = deps_.topics.WithSharedDeliveryGroup(true).DeliverGroup(
                                endpoint_)](const std::string&) { return shared; };
  options.session_timeout_ms = deps_.session_timeout_ms;
  absl::StatusOr<std::unique_ptr<kafka::Consumer>> consumer =
      kafka::Consumer::Create(deps_.kafka, options);
  if (!consumer.ok()) {
    log::Error("subscribe.consumer_failed",
               {{"endpoint", endpoint_}, {"error", consumer.status().ToString()}});
    absl::MutexLock lock(&mu_);
    if (sink_ != nullptr) {
      sink_->End(absl::UnavailableError("delivery topic unavailable; reconnect later"));
    }
  } else {
    while (true) {
      size_t room = 0;
      {
        absl::MutexLock lock(&mu_);
        // Wait (briefly) for acknowledgements while the window is full.
        auto has_room_or_stop = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
          return stop_ || in_flight_.size() < window_;
        };
        mu_.AwaitWithTimeout(absl::Condition(&has_room_or_stop), absl::Milliseconds(100));
        if (stop_) break;
        room = window_ > in_flight_.size() ? window_ - in_flight_.size() : 0;
      }
      // A refused commit is logged and counted; the offsets stay where they
      // were and the next progress commits past them.
      (void)CommitOffsets(**consumer, CommitsDue(), CommitMode::kAsync, options.group_id,
                          deps_.observer);
      if (room == 0) continue;

      absl::StatusOr<kafka::PollResult> polled = (*consumer)->Poll(absl::Milliseconds(100), room);
      if (!polled.ok()) {
        log::Error("subscribe.poll_failed",
                   {{"endpoint", endpoint_}, {"error", polled.status().ToString()}});
        absl::MutexLock lock(&mu_);
        if (sink_ != nullptr)
          sink_->End(absl::UnavailableError("delivery stream failed; reconnect"));
        break;
      }
      std::vector<int32_t> revoked, assigned;
      for (const kafka::TopicPartition& tp : polled->revoked) revoked.push_back(tp.partition);
      for (const kafka::TopicPartition& tp : polled->assigned) assigned.push_back(tp.partition);
      Revoked(revoked);
      if (!assigned.empty()) Assigned(assigned);
      for (const kafka::Gap& gap : polled->gaps) HandleGap(gap);
      for (kafka::Record& record : polled->records) Process(std::move(record));
    }
    // Acknowledgements taken but not yet durable (a client that acknowledges
    // and closes at once, a node stopping): wait for their writes, so that
    // the final commit covers them. Otherwise the node serving this endpoint
    // next reads those items again, and hands them out again whenever its
    // mirror of the acknowledged items has not caught up with the records
    // just written: a duplicate after an acknowledgement the broker took.
    {
      absl::MutexLock lock(&mu_);
      auto settled = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return finalising_ == 0; };
      if (!mu_.AwaitWithTimeout(absl::Condition(&settled), absl::Seconds(10))) {
        log::Warning("subscribe.acks_pending_at_close",
                     {{"endpoint", endpoint_}, {"acknowledgements", finalising_}});
      }
    }
    // Final commit of whatever is done, then leave the group.
    (void)CommitOffsets(**consumer, CommitsDue(), CommitMode::kSync, options.group_id,
                        deps_.observer);
    (void)(*consumer)->Close();
  }
  Finish();
}

void Subscription::Process(kafka::Record record) {
  liaison::v1::DeliveryItem item;
  const bool parsed = item.ParseFromString(record.value);
  absl::MutexLock lock(&mu_);
  Progress& progress = progress_[record.partition];
  progress.next = std::max(progress.next, record.offset + 1);
  if (!parsed || item.item_id().empty()) {
    // Only the broker writes here; an unreadable record is a bug or tampering.
    log::Error(
        "subscribe.unreadable_item",
        {{"endpoint", endpoint_}, {"partition", record.partition}, {"offset", record.offset}});
    return;
  }
  if (item.grouped_size() == 0) {
    ProcessItem(std::move(item), progress, record.partition, record.offset);
    return;
  }
  // A record grouping items (a receipt batch): each is streamed and
  // acknowledged on its own.
  for (liaison::v1::DeliveryItem& inner : *item.mutable_grouped()) {
    if (inner.item_id().empty() || inner.grouped_size() > 0) {
      log::Error("subscribe.unreadable_item", {{"endpoint", endpoint_},
                                               {"partition", record.partition},
                                               {"offset", record.offset},
                                               {"group", item.item_id()}});
      continue;
    }
    ProcessItem(std::move(inner), progress, record.partition, record.offset);
  }
}

void Subscription::ProcessItem(liaison::v1::DeliveryItem item, Progress& progress,
                               int32_t partition, int64_t offset) {
  if (deps_.acked->Contains(EndpointId(endpoint_), AckItemId(item.item_id()))) {
    ++deps_.stats->duplicates_dropped;
    return;  // a replayed copy of an acknowledged item
  }
  liaison::v1::Statement statement;
  // Signed alone or as a leaf of a batch; the recipient verifies either.
  const bool has_statement =
      (item.has_statement() && statement.ParseFromString(item.statement().statement())) ||
      (item.has_batched() && statement.ParseFromString(item.batched().statement()));
  if (has_statement && statement.has_attestation() && statement.attestation().has_erase_by() &&
      deps_.clock->Now() >= FromProto(statement.attestation().erase_by()) &&
      !in_flight_.contains(item.item_id())) {
    // DP-RET-02: never delivered after erase_by; the sender is told.
    ++progress.outstanding[offset];
    Expire(item, statement.attestation(), partition, offset);
    return;
  }
  auto [it, inserted] = in_flight_.try_emplace(item.item_id());
  InFlight& entry = it->second;
  if (!inserted) {
    // A second copy of an item already on its way: done when that one is.
    ++deps_.stats->duplicates_dropped;
    if (entry.partition == partition) {
      ++progress.outstanding[offset];
      entry.offsets.push_back(offset);
    }
    return;
  }
  ++progress.outstanding[offset];
  entry.partition = partition;
  entry.offsets.push_back(offset);
  if (has_statement && statement.has_attestation() && !statement.attestation().broker_authored()) {
    const liaison::v1::Attestation& a = statement.attestation();
    entry.is_delivery = true;
    entry.message_id = a.message_id();
    liaison::v1::Receipt& receipt = entry.receipt;
    receipt.set_message_id(a.message_id());
    receipt.set_recipient(endpoint_);
    receipt.set_addressee(a.sender());
    receipt.set_delivery_id(item.item_id());
    receipt.set_outcome(a.outcome());
    *receipt.mutable_redactions() = a.redactions();
    *receipt.mutable_rule_ids() = a.rule_ids();
    if (a.has_accepted_at()) entry.accepted_at = FromProto(a.accepted_at());
  } else if (has_statement && statement.has_attestation()) {
    // A message the broker wrote itself (a LINKAGE_REPLY): acknowledged like
    // a notice, no receipt goes back to anyone.
    entry.message_id = statement.attestation().message_id();
  } else if (statement.has_notice()) {
    entry.message_id = statement.notice().message_id();
  } else if (statement.has_receipt()) {
    entry.message_id = statement.receipt().message_id();
  }
  ++deps_.stats->in_flight;
  ++deps_.stats->delivered;
  if (deps_.observer != nullptr) deps_.observer->OnDelivered(endpoint_, entry.is_delivery);
  liaison::v1::SubscribeResponse response;
  *response.mutable_item() = std::move(item);
  Push(std::move(response));
}

void Subscription::Ack(const std::vector<std::string>& item_ids) {
  deps_.stats->last_seen_unix_ms = NowMillis();
  const absl::Time now = absl::Now();
  std::vector<std::pair<std::string, InFlight>> batch;
  {
    absl::MutexLock lock(&mu_);
    for (const std::string& id : item_ids) {
      auto it = in_flight_.find(id);
      if (it == in_flight_.end()) continue;
      InFlight entry = std::move(it->second);
      in_flight_.erase(it);
      --deps_.stats->in_flight;
      ++finalising_;
      ++deps_.stats->acknowledged;
      if (deps_.observer != nullptr) {
        deps_.observer->OnAcknowledged(endpoint_, entry.is_delivery,
                                       entry.is_delivery && entry.accepted_at != absl::Time()
                                           ? now - entry.accepted_at
                                           : absl::ZeroDuration());
      }
      deps_.acked->Insert(EndpointId(endpoint_), AckItemId(id), now);
      if (entry.is_delivery) *entry.receipt.mutable_acknowledged_at() = ToProto(now);
      acks_queued_.emplace_back(id, std::move(entry));
    }
    if (acks_writing_) return;  // goes with the next batch
    if (deps_.ack_linger > absl::ZeroDuration() && acks_queued_.size() < kMaxReceiptsPerEvent) {
      // Let more gather (FlushAcks).
      acks_writing_ = true;
      deps_.pool->SubmitAfter(deps_.ack_linger, [self = shared_from_this()] { self->FlushAcks(); });
      return;
    }
    batch = TakeAcksLocked();
  }
  if (batch.empty()) return;
  // Receipts are signed on the worker pool, not on the gRPC thread.
  deps_.pool->Submit([self = shared_from_this(), batch = std::move(batch)]() mutable {
    self->Finalise(std::move(batch));
  });
}

void Subscription::FlushAcks() {
  std::vector<std::pair<std::string, InFlight>> batch;
  {
    absl::MutexLock lock(&mu_);
    batch = TakeAcksLocked();
  }
  if (!batch.empty()) Finalise(std::move(batch));
}

std::vector<std::pair<std::string, Subscription::InFlight>> Subscription::TakeAcksLocked() {
  std::vector<std::pair<std::string, InFlight>> batch;
  size_t take = std::min(acks_queued_.size(), kMaxReceiptsPerEvent);
  batch.reserve(take);
  for (size_t i = 0; i < take; ++i) batch.push_back(std::move(acks_queued_[i]));
  acks_queued_.erase(acks_queued_.begin(),
                     acks_queued_.begin() + static_cast<std::ptrdiff_t>(take));
  acks_writing_ = !batch.empty();
  return batch;
}

// Makes a batch of acknowledgements durable: first the senders' receipts
// (one signed event to the policy stage), then the acknowledged-items record.
// Only then may the offsets be committed. The order matters: once the record
// is in Kafka every node drops a redelivered copy of the items as
// acknowledged, so a node dying between the two writes must leave items that
// come again (acknowledged again, their receipts written again under the
// same receipt ids), never an acknowledged item whose receipt never comes.
void Subscription::Finalise(std::vector<std::pair<std::string, InFlight>> batch) {
  const absl::Time now = absl::Now();
  auto items = std::make_shared<std::vector<std::pair<std::string, InFlight>>>(std::move(batch));
  liaison::v1::AckedItemBatch record;
  liaison::v1::IngressEvent event;
  for (const auto& [id, entry] : *items) {
    liaison::v1::AckedItem* a = record.add_items();
    a->set_recipient(endpoint_);
    a->set_item_id(id);
    a->set_message_id(entry.message_id);
    *a->mutable_acknowledged_at() = ToProto(now);
    // The senders' receipts are signed and written by the policy stage.
    if (entry.is_delivery) *event.mutable_receipts()->add_receipts() = entry.receipt;
  }
  // If a write is not durable, the offsets stay uncommitted: the items are
  // delivered again after a reconnect and the endpoint acknowledges them again.
  auto not_durable = [self = shared_from_this(), items](const absl::Status& status) {
    log::Error("subscribe.ack_not_durable", {{"endpoint", self->endpoint_},
                                             {"items", static_cast<int64_t>(items->size())},
                                             {"first_item_id", items->front().first},
                                             {"error", status.ToString()}});
  };
  auto write_record = [self = shared_from_this(), items, not_durable,
                       key =
                           AckedItems::Key(EndpointId(endpoint_), AckItemId(items->front().first)),
                       value = record.SerializeAsString()](absl::Status receipts) mutable {
    if (!receipts.ok()) {
      not_durable(receipts);
      self->Finalised(*items, false);
      return;
    }
    ProduceWithRetry(self->deps_.producer, self->deps_.topics.AckedItems(), std::move(key),
                     std::move(value), [self, items, not_durable](absl::Status status) {
                       if (!status.ok()) not_durable(status);
                       self->Finalised(*items, status.ok());
                     });
  };
  if (!event.has_receipts()) {
    write_record(absl::OkStatus());
    return;
  }
  // Keyed by the recipient: the batch is one event, audited in one chain.
  ToPolicyStage(std::move(event), endpoint_, std::move(write_record));
}

void Subscription::Finalised(const std::vector<std::pair<std::string, InFlight>>& batch,
                             bool durable) {
  std::vector<std::pair<std::string, InFlight>> next;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [id, entry] : batch) {
      --finalising_;
      if (durable) MarkDoneLocked(entry.partition, entry.offsets);
    }
    next = TakeAcksLocked();
  }
  if (next.empty()) return;
  deps_.pool->Submit([self = shared_from_this(), next = std::move(next)]() mutable {
    self->Finalise(std::move(next));
  });
}

void Subscription::MarkDone(int32_t partition, const std::vector<int64_t>& offsets) {
  absl::MutexLock lock(&mu_);
  MarkDoneLocked(partition, offsets);
}

void Subscription::MarkDoneLocked(int32_t partition, const std::vector<int64_t>& offsets) {
  auto it = progress_.find(partition);
  if (it == progress_.end()) return;  // partition revoked meanwhile
  for (int64_t offset : offsets) {
    auto o = it->second.outstanding.find(offset);
    if (o != it->second.outstanding.end() && --o->second <= 0) it->second.outstanding.erase(o);
  }
}

std::vector<kafka::Consumer::CommitOffset> Subscription::CommitsDue() {
  std::vector<kafka::Consumer::CommitOffset> commits;
  absl::MutexLock lock(&mu_);
  for (auto& [partition, p] : progress_) {
    if (p.next < 0) continue;
    const int64_t position = p.outstanding.empty() ? p.next : p.outstanding.begin()->first;
    if (position > p.committed) {
      p.committed = position;
      commits.push_back({{deps_.topics.Deliver(endpoint_), partition}, position});
    }
  }
  return commits;
}

void Subscription::Expire(const liaison::v1::DeliveryItem& item, const liaison::v1::Attestation& a,
                          int32_t partition, int64_t offset) {
  ++deps_.stats->expired;
  log::Info("delivery.expired",
            {{"endpoint", endpoint_}, {"message_id", a.message_id()}, {"item_id", item.item_id()}});
  // The policy stage audits the erasure and sends the sender a signed notice.
  liaison::v1::IngressEvent record;
  liaison::v1::ExpiredItem* e = record.mutable_expired();
  e->set_message_id(a.message_id());
  e->set_sender(a.sender());
  e->set_recipient(endpoint_);
  e->set_item_id(item.item_id());
  *e->mutable_erase_by() = a.erase_by();
  *e->mutable_found_at() = ToProto(deps_.clock->Now());
  const std::vector<int64_t> offsets = {offset};
  ToPolicyStage(std::move(record), a.message_id(),
                [self = shared_from_this(), partition, offsets](absl::Status s) {
                  if (s.ok()) self->MarkDone(partition, offsets);
                });
}

void Subscription::ToPolicyStage(liaison::v1::IngressEvent event, const std::string& key,
                                 std::function<void(absl::Status)> done) {
  const absl::Time now = absl::Now();
  absl::StatusOr<liaison::v1::SignedIngressEvent> signed_event =
      deps_.countersigner->SignEvent(std::move(event), now);
  if (!signed_event.ok()) {
    log::Error("delivery.event_sign_failed",
               {{"endpoint", endpoint_}, {"error", signed_event.status().ToString()}});
    done(signed_event.status());
    return;
  }
  liaison::v1::IngressRecord record;
  *record.mutable_event() = std::move(*signed_event);
  *record.mutable_accepted_at() = ToProto(now);
  ProduceWithRetry(deps_.producer, deps_.topics.Ingress(), key, record.SerializeAsString(),
                   std::move(done));
}

void Subscription::HandleGap(const kafka::Gap& gap) {
  RecordGap(gap);
  GapNotices(gap);
}

void Subscription::RecordGap(const kafka::Gap& gap) {
  const int64_t count = gap.to - gap.from;
  deps_.stats->lost += count;
  if (deps_.observer != nullptr) deps_.observer->OnLoss(LossSource::kDeliver, count);
  log::Error("delivery.lost", {{"endpoint", endpoint_},
                               {"partition", gap.partition},
                               {"from", gap.from},
                               {"to", gap.to},
                               {"records", count}});
  {
    absl::MutexLock lock(&mu_);
    Progress& p = progress_[gap.partition];
    p.next = std::max(p.next, gap.to);
  }
}

void Subscription::GapNotices(const kafka::Gap& gap) {
  const int64_t count = gap.to - gap.from;
  absl::StatusOr<std::vector<liaison::v1::DeliveryIndexEntry>> lost =
      FindIndexed(deps_.kafka, deps_.topics.DeliveryIndex(), endpoint_, gap.partition, gap.from,
                  gap.to, absl::Seconds(30), deps_.observer);
  auto SendNotice = [this](liaison::v1::Notice notice) {
    liaison::v1::IngressEvent event;
    const std::string key = notice.addressee();
    *event.mutable_notice() = std::move(notice);
    ToPolicyStage(std::move(event), key, [](absl::Status s) {
      if (!s.ok()) log::Error("delivery.loss_notice_failed", {{"error", s.ToString()}});
    });
  };
  liaison::v1::Notice to_recipient;
  to_recipient.set_kind(liaison::v1::NOTICE_KIND_GAP);
  to_recipient.set_addressee(endpoint_);
  to_recipient.set_recipient(endpoint_);
  // Deterministic id per lost range, so a replay of the gap is recognised.
  to_recipient.set_message_id(
      absl::StrCat("gap:", gap.topic, ":", gap.partition, ":", gap.from, "-", gap.to));
  if (!lost.ok()) {
    log::Error("delivery.lost_unidentified",
               {{"endpoint", endpoint_}, {"error", lost.status().ToString()}});
    to_recipient.add_reasons(absl::StrCat(count, " items addressed to ", endpoint_,
                                          " were deleted by Kafka before delivery; the "
                                          "delivery index could not name them"));
    SendNotice(std::move(to_recipient));
    return;
  }
  std::map<std::string, std::vector<std::string>> by_sender;
  for (const liaison::v1::DeliveryIndexEntry& e : *lost) {
    to_recipient.add_message_ids(e.message_id());
    if (!e.sender().empty()) by_sender[e.sender()].push_back(e.message_id());
  }
  to_recipient.add_reasons(absl::StrCat(count, " items addressed to ", endpoint_,
                                        " were deleted by Kafka before delivery (", lost->size(),
                                        " identified messages)"));
  for (auto& [sender, ids] : by_sender) {
    liaison::v1::Notice notice;
    notice.set_kind(liaison::v1::NOTICE_KIND_LOST);
    notice.set_addressee(sender);
    notice.set_recipient(endpoint_);
    notice.set_message_id(ids.front());
    for (const std::string& id : ids) notice.add_message_ids(id);
    notice.add_reasons(absl::StrCat(ids.size(), " of your messages to ", endpoint_,
                                    " were lost before delivery; re-send them"));
    log::Error("delivery.lost_messages",
               {{"recipient", endpoint_}, {"sender", sender}, {"messages", ids.size()}});
    SendNotice(std::move(notice));
  }
  SendNotice(std::move(to_recipient));
}

}  // namespace liaison::broker

#include "broker/state/state_mirrors.h"

#include "base/log.h"
#include "base/proto_time.h"
#include "liaison/v1/broker_state.pb.h"

namespace liaison::broker {
namespace {

void Skipped(const StateBooks& books, const kafka::Record& r) {
  log::Error("state.unreadable_record",
             {{"topic", r.topic}, {"partition", r.partition}, {"offset", r.offset}});
  if (books.observer != nullptr) books.observer->OnStateRecordSkipped(r.topic);
}

}  // namespace

std::vector<std::pair<std::string, TopicMirror::Apply>> StateMirrorTopics(const Topics& topics,
                                                                          StateBooks books) {
  std::vector<std::pair<std::string, TopicMirror::Apply>> state;
  // Both registries hold groups of entries (AcceptedIdBatch, AckedItemBatch)
  // and, written by earlier versions, single ones: a single entry parses as
  // a group of none (the group's field number is not one of its own).
  state.emplace_back(topics.AcceptedIds(), [books](const kafka::Record& r) {
    liaison::v1::AcceptedIdBatch batch;
    if (!batch.ParseFromString(r.value)) return Skipped(books, r);
    if (batch.ids().empty() && !batch.mutable_ids()->Add()->ParseFromString(r.value)) {
      return Skipped(books, r);
    }
    for (const liaison::v1::AcceptedId& a : batch.ids()) books.accepted->Insert(a);
  });
  state.emplace_back(topics.AckedItems(), [books](const kafka::Record& r) {
    liaison::v1::AckedItemBatch batch;
    if (!batch.ParseFromString(r.value)) return Skipped(books, r);
    if (batch.items().empty() && !batch.mutable_items()->Add()->ParseFromString(r.value)) {
      return Skipped(books, r);
    }
    for (const liaison::v1::AckedItem& a : batch.items()) {
      books.acked->Insert(EndpointId(a.recipient()), AckItemId(a.item_id()),
                          FromProto(a.acknowledged_at()));
    }
  });
  state.emplace_back(topics.Sources(), [books](const kafka::Record& r) {
    liaison::v1::RecordedSource s;
    if (!s.ParseFromString(r.value)) return Skipped(books, r);
    books.sources->Put(SourceBook::FromProto(s));
    books.sources->SetExpiry(s.ref().message_id(),
                             {s.has_erase_by() ? FromProto(s.erase_by()) : absl::InfiniteFuture(),
                              s.ingress_partition(), s.erasure_notified()});
  });
  state.emplace_back(topics.Consents(), [books](const kafka::Record& r) {
    liaison::v1::RecordedConsent c;
    if (r.value.empty()) return;  // tombstone
    absl::StatusOr<policy::ConsentRecord> record =
        c.ParseFromString(r.value) ? ConsentBook::FromVerified(c, *books.verifier)
                                   : absl::InvalidArgumentError("not a RecordedConsent");
    if (!record.ok()) {
      // Only the policy stage writes this topic, with the grantor's
      // signature: anything else is tampering or a bug.
      books.consents->CountRefused();
      log::Error("state.forged_consent", {{"partition", r.partition},
                                          {"offset", r.offset},
                                          {"error", record.status().ToString()}});
      return;
    }
    books.consents->Put(*std::move(record));
  });
  if (books.linkage != nullptr) {
    state.emplace_back(topics.LinkageIndex(), [books](const kafka::Record& r) {
      // LinkageBook logs its own reason (linkage.record_skipped).
      if (!books.linkage->Apply(r, books.clock->Now()).ok() && books.observer != nullptr) {
        books.observer->OnStateRecordSkipped(r.topic);
      }
    });
  }
  return state;
}

}  // namespace liaison::broker

#include "tests/history/recorder.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/proto_time.h"
#include "connectors/audit/audit_trail.h"

namespace liaison::history {
namespace {

// "NOTICE_KIND_LOST" -> "LOST".
std::string WithoutPrefix(const std::string& name, const std::string& prefix) {
  return name.rfind(prefix, 0) == 0 ? name.substr(prefix.size()) : name;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Recorder>> Recorder::Open(const std::string& path) {
  std::ofstream out(path, std::ios::app);
  if (!out) return absl::NotFoundError(absl::StrCat(path, ": cannot be opened for appending"));
  return std::unique_ptr<Recorder>(new Recorder(path, std::move(out)));
}

void Recorder::Record(Event event) {
  if (event.at == absl::Time()) event.at = absl::Now();
  const std::string line = ToJsonLine(event);
  absl::MutexLock lock(&mu_);
  out_ << line << '\n';
  out_.flush();
  if (!out_ && status_.ok()) {
    status_ = absl::DataLossError(absl::StrCat(path_, ": write failed"));
  }
}

absl::Status Recorder::status() const {
  absl::MutexLock lock(&mu_);
  return status_;
}

void Recorder::Subscribed(const std::string& endpoint) {
  Event e;
  e.type = EventType::kSubscribed;
  e.by = endpoint;
  Record(std::move(e));
}

void Recorder::Sent(const std::string& by, const liaison::v1::Message& message) {
  Event e;
  e.type = EventType::kSent;
  e.by = by;
  e.message_id = message.header().message_id();
  e.sender = message.header().sender();
  e.recipients.assign(message.header().recipients().begin(), message.header().recipients().end());
  Record(std::move(e));
}

void Recorder::SendOutcome(const std::string& by, const liaison::v1::Message& message,
                           const absl::StatusOr<liaison::v1::SendResult>& result) {
  Event e;
  e.by = by;
  e.message_id = message.header().message_id();
  e.sender = message.header().sender();
  if (result.ok()) {
    e.type = EventType::kAccepted;
    e.duplicate = result->duplicate();
  } else {
    e.type = EventType::kRejected;
    e.code = absl::StatusCodeToString(result.status().code());
    e.error = std::string(result.status().message());
  }
  Record(std::move(e));
}

void Recorder::StreamResult(const std::string& by, const std::string& sender,
                            const liaison::v1::SendResult& result) {
  Event e;
  e.by = by;
  // A refused envelope whose id could not be read is named by its position.
  e.message_id = result.message_id().empty() ? absl::StrCat("unreadable#", result.sequence())
                                             : result.message_id();
  e.sender = sender;
  if (result.code() == 0) {
    e.type = EventType::kAccepted;
    e.duplicate = result.duplicate();
  } else {
    e.type = EventType::kRejected;
    e.code = absl::StatusCodeToString(static_cast<absl::StatusCode>(result.code()));
    e.error = result.error();
  }
  Record(std::move(e));
}

bool Recorder::Received(const std::string& by, const endpoint::Subscription::Received& received) {
  if (!received.verified.ok()) return false;
  const endpoint::VerifiedItem& item = *received.verified;
  const liaison::v1::Statement& statement = item.statement();
  switch (item.kind()) {
    case endpoint::VerifiedItem::Kind::kDelivery: {
      if (item.broker_authored()) return false;
      Event e;
      e.type = EventType::kDelivered;
      e.by = by;
      e.message_id = statement.attestation().message_id();
      e.sender = statement.attestation().sender();
      e.recipient = received.item.recipient();
      e.item_id = item.item_id();
      e.content = item.derived() ? Content::kRedacted : Content::kOriginal;
      Record(std::move(e));
      return true;
    }
    case endpoint::VerifiedItem::Kind::kReceipt: {
      const liaison::v1::Receipt& r = statement.receipt();
      Event e;
      e.type = EventType::kReceipt;
      e.by = by;
      e.message_id = r.message_id();
      e.sender = r.addressee();
      e.recipient = r.recipient();
      e.item_id = item.item_id();
      e.acknowledged_at = FromProto(r.acknowledged_at());
      Record(std::move(e));
      return true;
    }
    case endpoint::VerifiedItem::Kind::kNotice: {
      const liaison::v1::Notice& n = statement.notice();
      // A loss can cover many messages: one event for each.
      std::vector<std::string> ids;
      std::set<std::string> seen;
      for (const std::string& id : {n.message_id()}) {
        if (!id.empty() && seen.insert(id).second) ids.push_back(id);
      }
      for (const std::string& id : n.message_ids()) {
        if (!id.empty() && seen.insert(id).second) ids.push_back(id);
      }
      const absl::Time now = absl::Now();
      for (const std::string& id : ids) {
        Event e;
        e.type = EventType::kNotice;
        e.at = now;
        e.by = by;
        e.message_id = id;
        e.recipient = n.recipient();
        e.item_id = item.item_id();
        e.notice_kind = WithoutPrefix(liaison::v1::NoticeKind_Name(n.kind()), "NOTICE_KIND_");
        Record(std::move(e));
      }
      return !ids.empty();
    }
  }
  return false;
}

void Recorder::Acknowledged(const std::string& by,
                            const endpoint::Subscription::Received& received) {
  if (!received.verified.ok() ||
      received.verified->kind() != endpoint::VerifiedItem::Kind::kDelivery ||
      received.verified->broker_authored()) {
    return;
  }
  Event e;
  e.type = EventType::kAcknowledged;
  e.by = by;
  e.message_id = received.verified->statement().attestation().message_id();
  e.recipient = received.item.recipient();
  e.item_id = received.verified->item_id();
  Record(std::move(e));
}

Event AuditEvent(const liaison::v1::AuditEntry& entry) {
  Event e;
  e.type = EventType::kAudit;
  e.at = FromProto(entry.ts());
  e.by = "audit";
  e.message_id = entry.message_id();
  e.sender = entry.sender();
  e.recipient = entry.recipient();
  e.chain = entry.chain();
  e.seq = entry.seq();
  e.operation =
      WithoutPrefix(liaison::v1::AuditOperation_Name(entry.operation()), "AUDIT_OPERATION_");
  e.audit_event = entry.event();
  if (entry.decision() != liaison::v1::OUTCOME_UNSPECIFIED) {
    e.decision = WithoutPrefix(liaison::v1::Outcome_Name(entry.decision()), "OUTCOME_");
  }
  e.rule_ids.assign(entry.rule_ids().begin(), entry.rule_ids().end());
  e.broker_id = entry.broker_id();
  return e;
}

absl::Status RecordAuditTrail(const kafka::ClientConfig& kafka, const std::string& topic,
                              Recorder& recorder, absl::Duration timeout) {
  absl::StatusOr<std::vector<liaison::v1::AuditEntry>> entries =
      audit::AllEntries(kafka, topic, timeout);
  if (!entries.ok()) return entries.status();
  for (const liaison::v1::AuditEntry& entry : *entries) {
    // Entries about no message (none today) say nothing about deliveries.
    if (entry.message_id().empty()) continue;
    recorder.Record(AuditEvent(entry));
  }
  return recorder.status();
}

}  // namespace liaison::history
